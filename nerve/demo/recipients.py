"""Which simulated customer a message went to, by the address Nerve used: the phone number an SMS
went to (E.164, as Nerve keeps it), the app token a push went to, the identifiers a push's log row
names (`user_id:…`, `anonymous_id:…`), or the e-mail address."""

from __future__ import annotations

from nerve.demo.people import Customer
from nerve.identity.extract import normalize_phone

_REGION = "DE"  # the demo's numbers are written with +country: the region is never needed


class Recipients:
    def __init__(self, customers: list[Customer]) -> None:
        self._by_address: dict[str, Customer] = {}
        for customer in customers:
            number = normalize_phone(customer.phone, _REGION)
            for address in (number, customer.email, f"user_id:{customer.user_id}"):
                if address:
                    self._by_address[address] = customer
        self._customers = customers

    def of(self, address: str | None) -> Customer | None:
        """The customer at a number, an e-mail address, a push token or a push owner (one of
        several, comma-separated, as the message log names a push's recipients)."""
        if not address:
            return None
        for part in address.split(","):
            found = self._by_address.get(part.strip()) or self._on_device(part.strip())
            if found is not None:
                return found
        return None

    def device_name(self, token: str) -> str:
        """What the customer calls the phone an app token belongs to: "iPhone", "Pixel 8"."""
        for customer in self._customers:
            for device in customer.devices:
                if device.push_token == token:
                    model = device.context.get("device", {})
                    return str(model.get("name") if customer.phone_os == "ios"
                               else model.get("model") or "phone")  # fmt: skip
        return "phone"

    def _on_device(self, address: str) -> Customer | None:
        """Devices change hands less often than they sign in: looked up, not indexed (an app
        may be installed during the demo)."""
        kind, _, value = address.partition(":")
        for customer in self._customers:
            for device in customer.devices:
                if address == device.push_token or (
                    kind == "anonymous_id" and value == device.anonymous_id
                ):
                    return customer
        return None
