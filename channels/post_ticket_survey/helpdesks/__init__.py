"""One adapter per helpdesk, by provider slug."""
from .base import Delivery, Helpdesk, PayloadError
from .chatwoot import Chatwoot
from .freshdesk import Freshdesk
from .generic import Generic
from .helpscout import HelpScout
from .zammad import Zammad
from .zendesk import Zendesk

HELPDESKS: dict[str, Helpdesk] = {h.provider: h for h in (Zendesk(), Freshdesk(), Chatwoot(), Zammad(),
                                                           HelpScout(), Generic())}

__all__ = ["HELPDESKS", "Delivery", "Helpdesk", "PayloadError"]
