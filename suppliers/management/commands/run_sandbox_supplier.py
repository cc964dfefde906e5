"""Run the sandbox supplier with this installation's supplier credentials (never in production)."""

import re
import signal
import threading
from dataclasses import Field, fields
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from suppliers.sandbox import Faults, SandboxConfig, SandboxSupplier
from suppliers.sandbox.config import DEFAULT_WEBHOOK_SECRET, ERROR_KINDS, LOST_ANSWER_KINDS

KNOB_CHOICES = {"error_kind": ERROR_KINDS, "answer_lost_kind": LOST_ANSWER_KINDS}


class Command(BaseCommand):
    help = ("Run the sandbox supplier: the supplier API contract over HTTP, on the direct and "
            "the PhoneX routes, for development, demos and tests.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
        parser.add_argument("--skus", type=int, default=3000, help="catalogue size")
        parser.add_argument("--seed", type=int, default=1,
                            help="the same seed gives the same catalogue and the same order fates")
        parser.add_argument("--unusual-grades", action="store_true",
                            help="also stock the rare grades AB and Functional")
        parser.add_argument("--tick-seconds", type=float, default=10.0,
                            help="orders move one step per tick; 0 moves them only when advanced")
        parser.add_argument("--rejection-rate", type=float, default=0.05)
        parser.add_argument("--backorder-rate", type=float, default=0.05)
        parser.add_argument("--hold-rate", type=float, default=0.05)
        parser.add_argument("--webhook-url", default=None,
                            help="where events go (default: SITE_URL + /webhooks/suppliers/"
                                 "wesellcellular/; an empty value sends none)")
        parser.add_argument("--webhook-max-attempts", type=int, default=8)
        parser.add_argument("--webhook-backoff-seconds", type=float, default=1.0,
                            help="wait before the first retry, doubled at each further one")
        parser.add_argument("--token-lifetime", type=int, default=3600,
                            help="seconds a PhoneX access token lives")
        faults = parser.add_argument_group(
            "faults", "also readable and settable at run time: GET/POST /_sandbox/faults")
        for knob in fields(Faults):
            faults.add_argument(f"--{knob.name.replace('_', '-')}", dest=f"fault_{knob.name}",
                                metavar=knob.name.upper(),
                                type=_knob_type(knob), choices=KNOB_CHOICES.get(knob.name),
                                default=None,
                                help=f"{knob.metadata['help']} (default: {knob.default})")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX_SUPPLIER_ENABLED:
            raise CommandError(
                "The sandbox supplier is test and demo equipment and is disabled here. "
                "Set SANDBOX_SUPPLIER_ENABLED=true (it follows DEBUG by default) to run it.")
        sandbox = SandboxSupplier(self._config(options))
        try:
            sandbox.start()
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        self._announce(sandbox)
        stop_requested = threading.Event()
        handled_signals = (signal.SIGINT, signal.SIGTERM)
        previous_handlers = {number: signal.signal(number, lambda *_: stop_requested.set())
                             for number in handled_signals}
        try:
            while not stop_requested.wait(1.0):
                continue
        finally:
            for number, handler in previous_handlers.items():
                signal.signal(number, handler)
            sandbox.stop()
        self.stdout.write("Sandbox supplier stopped.")

    def _config(self, options: dict[str, Any]) -> SandboxConfig:
        webhook_secret = _first_secret(settings.WESELLCELLULAR_WEBHOOK_SECRET)
        webhook_url = options["webhook_url"]
        if webhook_url is None:
            webhook_url = f"{settings.SITE_URL}/webhooks/suppliers/wesellcellular/"
        if webhook_url and not webhook_secret:
            self.stderr.write("WESELLCELLULAR_WEBHOOK_SECRET is empty: no webhooks will be sent.")
            webhook_url = ""
        for setting, route in (("WESELLCELLULAR_API_KEY", "the direct route"),
                               ("PHONEX_TENANT_ID", "the PhoneX route"),
                               ("PHONEX_SUPPLIER_TENANT_ID", "the PhoneX route")):
            if not getattr(settings, setting):
                self.stderr.write(f"{setting} is empty: {route} refuses every call.")
        fault_changes = {knob.name: options[f"fault_{knob.name}"] for knob in fields(Faults)
                         if options[f"fault_{knob.name}"] is not None}
        try:
            return SandboxConfig(
                host=options["host"], port=options["port"],
                api_key=settings.WESELLCELLULAR_API_KEY,
                phonex_api_token=settings.PHONEX_API_TOKEN,
                phonex_client_id=settings.PHONEX_CLIENT_ID,
                phonex_client_secret=settings.PHONEX_CLIENT_SECRET,
                phonex_tenant_id=settings.PHONEX_TENANT_ID,
                phonex_supplier_tenant_id=settings.PHONEX_SUPPLIER_TENANT_ID,
                token_lifetime=options["token_lifetime"],
                skus=options["skus"], seed=options["seed"],
                unusual_grades=options["unusual_grades"],
                tick_seconds=options["tick_seconds"] or None,
                rejection_rate=options["rejection_rate"], backorder_rate=options["backorder_rate"],
                hold_rate=options["hold_rate"],
                webhook_url=webhook_url or None,
                # Without a secret no webhook is sent, so the placeholder never signs anything.
                webhook_secret=webhook_secret or DEFAULT_WEBHOOK_SECRET,
                webhook_max_attempts=options["webhook_max_attempts"],
                webhook_backoff_seconds=options["webhook_backoff_seconds"],
                # Catalogue events come the way this installation reaches the supplier.
                inventory_events_route=(
                    "phonex" if settings.SUPPLIER_TRANSPORT == "phonex" else "direct"),
                faults=Faults().updated(fault_changes),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def _announce(self, sandbox: SandboxSupplier) -> None:
        config = sandbox.config
        clock = f"every {config.tick_seconds:g} s" if config.ticking else "only when advanced"
        self.stdout.write(self.style.SUCCESS(
            f"Sandbox supplier (test and demo equipment) listening on {sandbox.base_url}"))
        self.stdout.write(f"  direct route:  {sandbox.base_url}/v1/...")
        self.stdout.write(f"  PhoneX relay:  {sandbox.phonex_base_url}/v1/...")
        self.stdout.write(f"  PhoneX tokens: {sandbox.token_url}")
        self.stdout.write(f"  admin:         {sandbox.base_url}/_sandbox/state (also /faults, "
                          f"/reset, /tick, /orders/<id>/advance, /catalogue/mutate)")
        self.stdout.write(f"  catalogue of {len(sandbox.catalogue)} SKUs (seed {config.seed}); "
                          f"orders move {clock}; webhooks to {config.webhook_url or 'nowhere'}")
        self.stdout.write("Stop with Ctrl-C.")
        self.stdout.flush()


def _knob_type(knob: Field) -> type:
    if knob.name in KNOB_CHOICES:
        return str
    # Knobs without a default value (None) are page numbers and sizes.
    return int if knob.default is None else type(knob.default)


def _first_secret(setting_value: str) -> str:
    """The secret to sign with: the first of those listed (space- or comma-separated)."""
    return next((secret for secret in re.split(r"[\s,]+", setting_value or "") if secret), "")
