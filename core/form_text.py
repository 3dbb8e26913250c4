"""Form text as the browser counted it: a line break is one character.

Browsers count a line break in a ``<textarea>`` as one character against its ``maxlength``, and send it as two
(CR LF). Counted on the server as sent, 2,000 characters over a few lines were refused as too long by a page
that had just let them through, and the page, showing them again, seemed to hold fewer than the limit. Every
form value has its CR LF turned into LF as the form is read, so what is counted and stored is what was typed.
"""
from __future__ import annotations

from flask import Request


class FormRequest(Request):
    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__["form"]
        if any("\r" in value for _, value in form.items(multi=True)):
            self.__dict__["form"] = self.parameter_storage_class(
                [(name, value.replace("\r\n", "\n")) for name, value in form.items(multi=True)])
