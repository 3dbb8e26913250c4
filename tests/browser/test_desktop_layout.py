"""The pages on a laptop's 1280 px: the header stays one band however long the role's menu is."""
from __future__ import annotations

from tests.fixtures.browser import sign_in_browser
from tests.fixtures.org import PASSWORD

LAPTOP = {"width": 1280, "height": 800}

_HEADER = """() => {
  const bar = document.querySelector('header.bar').getBoundingClientRect();
  const brand = document.querySelector('.brand').getBoundingClientRect();
  const menu = document.querySelector('.menu').getBoundingClientRect();
  const out = document.querySelector('header.bar form').getBoundingClientRect();
  return {height: bar.height, menuBesideBrand: menu.left > brand.right, signOutBesideMenu: out.left > menu.right,
          entries: document.querySelectorAll('.menu a').length};
}"""


def test_hr_s_long_menu_wraps_beside_the_brand_not_under_it(browser_page, worked_example):
    page = browser_page
    page.set_viewport_size(LAPTOP)
    sign_in_browser(page, "hr@example.com", PASSWORD)
    page.goto("/people")
    header = page.evaluate(_HEADER)
    assert header["entries"] >= 14
    # Brand, menu and account side by side; the menu in two lines at most (it took three bands, 160 px, before).
    assert header["menuBesideBrand"] and header["signOutBesideMenu"], header
    assert header["height"] < 80, header
