"""Write every microlab figure to HTML and PNG, to look at them as a learner would.

Usage::

    python scripts/gallery.py OUTDIR [--no-png] [--only NAME ...]

It runs a few small systems built right here with the core API (an orchestrated order
saga, the same saga choreographed through a broker, a load sweep) and one on the
orchestration engine (the saga as a Conductor workflow, with retries and compensation), draws every figure
family from them, and writes ``OUTDIR/<name>.html`` (plotly.js embedded: works offline)
and ``OUTDIR/<name>.png`` (a screenshot by headless Chromium, through playwright).
Charts whose data would come from the metrics layer get numbers computed here from the
runs; the change-impact and growth charts use small illustrative tables, and say so in
their titles.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from pathlib import Path

from microlab import Constant, Drop, Duplicate, Exponential, Service, System
from microlab import viz

CHROMIUM = "/usr/bin/chromium"
#: Animations whose screenshot shows a later frame (by frame name) than the first.
SHOW_FRAME = {"animation": "24"}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# -- an order saga, orchestrated ------------------------------------------------------------

class Orchestrator(Service):
    """Runs each order: reserve stock, charge, ship; on a declined charge, release the stock."""

    service_name = "orchestrator"
    #: Seconds to wait for Shipped before sending Ship again (None: wait forever).
    ship_timeout = 0.08

    def __init__(self, **kw):
        super().__init__(**kw)
        self.waiting_ship: dict = {}

    def on_PlaceOrder(self, msg):
        self.send("inventory", "ReserveStock", msg.payload)

    def on_StockReserved(self, msg):
        self.send("payment", "Charge", msg.payload)

    def on_Charged(self, msg):
        self._ship(msg.payload, attempt=1)

    def _ship(self, order, attempt):
        self.send("shipping", "Ship", order)
        if self.ship_timeout is not None:
            self.waiting_ship[order["order"]] = attempt
            self.after(self.ship_timeout, self._ship_timed_out, order, attempt)

    def _ship_timed_out(self, order, attempt):
        if self.waiting_ship.get(order["order"]) == attempt:
            self.system.trace.record(self.now, "retry", self.name, None, correlation=order["order"],
                                     task="Ship", attempt=attempt + 1)
            self._ship(order, attempt + 1)

    def on_Shipped(self, msg):
        self.waiting_ship.pop(msg.payload["order"], None)
        self.send("client", "OrderCompleted", msg.payload)

    def on_ChargeDeclined(self, msg):
        release = self.send("inventory", "ReleaseStock", msg.payload)
        self.system.trace.record(self.now, "compensate", self.name, release)

    def on_StockReleased(self, msg):
        self.send("client", "OrderCancelled", msg.payload)


class Inventory(Service):
    """Reserves and releases stock."""

    def on_ReserveStock(self, msg):
        self.effect("reserve")
        self.reply(msg, "StockReserved", msg.payload)

    def on_ReleaseStock(self, msg):
        self.effect("release")
        self.reply(msg, "StockReleased", msg.payload)


class Payment(Service):
    """Charges the customer; declines orders above 100."""

    def on_Charge(self, msg):
        if msg.payload["amount"] > 100:
            self.reply(msg, "ChargeDeclined", msg.payload)
        else:
            self.effect("charge")
            self.reply(msg, "Charged", msg.payload)


class Shipping(Service):
    """Ships the order."""

    def on_Ship(self, msg):
        self.reply(msg, "Shipped", msg.payload)


AMOUNTS = (30, 45, 150, 20, 60, 80)


def orchestrated_saga(seed: int = 4) -> System:
    """Six orders; order-2 is declined and compensated; shipping crashes for a while, and
    the orchestrator retries the shipment it lost."""
    system = System(seed=seed, latency=Exponential(0.004))
    system.add(Orchestrator(work_time=Constant(0.001)), Inventory(work_time=Constant(0.002)),
               Payment(work_time=Exponential(0.004)), Shipping(work_time=Constant(0.003)))
    for i, amount in enumerate(AMOUNTS):
        system.inject("orchestrator", "PlaceOrder", {"order": f"order-{i}", "amount": amount},
                      correlation=f"order-{i}", at=i * 0.012)
    system.crash("shipping", at=0.045, duration=0.03)
    system.network.add_fault(Duplicate(types=("Charge",), start=0.05, end=0.07))
    system.run()
    return system


# -- the same saga, choreographed through a broker -------------------------------------------

class Broker(Service):
    """Forwards every event to the services subscribed to its topic."""

    service_name = "broker"
    subscriptions = {
        "OrderPlaced": ("inventory", "analytics"),
        "StockReserved": ("payment",),
        "PaymentCharged": ("shipping",),
        "PaymentDeclined": ("inventory", "orders"),
        "OrderShipped": ("orders", "analytics"),
        "StockReleased": ("orders",),
    }

    def handle(self, msg):
        for name in self.subscriptions.get(msg.topic, ()):
            self.send(name, msg.type, msg.payload, kind="event", topic=msg.topic)


class Orders(Service):
    """Takes orders from the client and tells it how they ended."""

    def on_PlaceOrder(self, msg):
        self.emit("broker", "OrderPlaced", msg.payload)

    def on_OrderShipped(self, msg):
        self.send("client", "OrderCompleted", msg.payload)

    def on_PaymentDeclined(self, msg):
        pass  # waits for the stock to be released before telling the client

    def on_StockReleased(self, msg):
        self.send("client", "OrderCancelled", msg.payload)


class EventInventory(Service):
    """Reserves stock when an order is placed; releases it when payment is declined."""

    service_name = "inventory"

    def on_OrderPlaced(self, msg):
        self.emit("broker", "StockReserved", msg.payload)

    def on_PaymentDeclined(self, msg):
        self.emit("broker", "StockReleased", msg.payload)


class EventPayment(Service):
    """Charges when stock is reserved; declines orders above 100."""

    service_name = "payment"

    def on_StockReserved(self, msg):
        kind = "PaymentDeclined" if msg.payload["amount"] > 100 else "PaymentCharged"
        self.emit("broker", kind, msg.payload)


class EventShipping(Service):
    """Ships when payment is charged."""

    service_name = "shipping"

    def on_PaymentCharged(self, msg):
        self.emit("broker", "OrderShipped", msg.payload)


class Analytics(Service):
    """A pure listener: counts orders placed and shipped."""

    def on_OrderPlaced(self, msg):
        pass

    def on_OrderShipped(self, msg):
        pass


def choreographed_saga(seed: int = 4) -> System:
    """The same six orders as events through a broker; one OrderShipped is dropped."""
    system = System(seed=seed, latency=Exponential(0.004))
    system.add(Broker(work_time=Constant(0.0005)), Orders(), EventInventory(work_time=Constant(0.002)),
               EventPayment(work_time=Exponential(0.004)), EventShipping(work_time=Constant(0.003)),
               Analytics())
    for i, amount in enumerate(AMOUNTS):
        system.inject("orders", "PlaceOrder", {"order": f"order-{i}", "amount": amount},
                      correlation=f"order-{i}", at=i * 0.012)
    system.network.add_fault(Drop(types=("OrderShipped",), destination="orders", start=0.05, end=0.06))
    system.run()
    return system


# -- the saga on the orchestration engine (Conductor's model) ----------------------------------

def conductor_saga(seed: int = 1) -> System:
    """The saga run by microlab's Conductor-style orchestrator: the charge fails twice and
    is retried with exponential back-off; shipping always fails, so after its retries
    the failure workflow refunds the payment and releases the stock."""
    from microlab.orchestration import Orchestrator as Conductor, TaskFailed, Worker, saga

    class StockWorker(Worker):
        service_name = "inventory"

        def reserve_inventory(self, input):
            self.effect("reserve")
            return {"reservation": "r1"}

        def release_inventory(self, input):
            self.effect("release")
            return {}

    class PaymentWorker(Worker):
        service_name = "payment"
        failures_left = 2

        def charge_payment(self, input):
            if self.failures_left:
                self.failures_left -= 1
                raise TaskFailed("card network timeout")
            self.effect("charge")
            return {}

        def refund_payment(self, input):
            self.effect("refund")
            return {}

    class ShippingWorker(Worker):
        service_name = "shipping"

        def book_shipment(self, input):
            raise TaskFailed("no truck available")

        def cancel_shipment(self, input):
            return {}

    system = System(seed=seed, latency=Exponential(0.01))
    conductor = system.add(Conductor())
    system.add(StockWorker(), PaymentWorker(), ShippingWorker())
    retry = {"retries": 3, "retry_delay": 1, "retry_logic": "EXPONENTIAL_BACKOFF"}
    conductor.register(saga("order_saga", inputs=["orderId"])
                       .step("reserve_inventory", compensate="release_inventory")
                       .step("charge_payment", compensate="refund_payment", **retry)
                       .step("book_shipment", compensate="cancel_shipment", retries=2, retry_delay=1)
                       .build())
    system.inject("orchestrator", "StartWorkflow", {"name": "order_saga", "input": {"orderId": 7}},
                  correlation="order-7")
    system.run()
    return system


def retry_schedules(retries: int = 5, delay: float = 1.0) -> dict:
    """The delay before each retry under each of Conductor's retry logics (the engine's formulas)."""
    from microlab.orchestration import task_def

    return {logic: [task_def("t", retries=retries, retry_delay=delay, retry_logic=logic).retry_delay(k)
                    for k in range(retries)]
            for logic in ("FIXED", "LINEAR_BACKOFF", "EXPONENTIAL_BACKOFF")}


# -- load -----------------------------------------------------------------------------------

def under_load(pattern: str, rate: float, seconds: float = 2.0, seed: int = 11) -> System:
    """Orders arriving at ``rate`` per second (Poisson) for ``seconds``, no failures.

    The orchestrator spends 2 ms on each message it handles (4 per order: it saturates
    near 125 orders/s); the broker spends 0.5 ms per event.
    """
    system = System(seed=seed, latency=Exponential(0.003))
    if pattern == "orchestration":
        orchestrator = Orchestrator(work_time=Constant(0.002))
        orchestrator.ship_timeout = None   # no failures here, and retries would swamp a saturated run
        system.add(orchestrator, Inventory(work_time=Exponential(0.003), workers=2),
                   Payment(work_time=Exponential(0.004), workers=2), Shipping(work_time=Exponential(0.003), workers=2))
        entry = "orchestrator"
    else:
        system.add(Broker(work_time=Constant(0.0005)), Orders(work_time=Constant(0.001)),
                   EventInventory(work_time=Exponential(0.003), workers=2),
                   EventPayment(work_time=Exponential(0.004), workers=2),
                   EventShipping(work_time=Exponential(0.003), workers=2), Analytics())
        entry = "orders"
    t, i = 0.0, 0
    while True:
        t += system.random.expovariate(rate)
        if t > seconds:
            break
        system.inject(entry, "PlaceOrder", {"order": f"order-{i}", "amount": 50},
                      correlation=f"order-{i}", at=t)
        i += 1
    system.run()
    return system


def latencies(system: System) -> list[float]:
    """End-to-end latency of each completed order: from its PlaceOrder to its OrderCompleted."""
    start, done = {}, {}
    for rec in system.trace.of_kind("send", "deliver"):
        m = rec.message
        if rec.kind == "send" and m.type == "PlaceOrder":
            start[m.correlation] = rec.time
        elif rec.kind == "deliver" and m.type == "OrderCompleted":
            done[m.correlation] = rec.time
    return [done[c] - start[c] for c in start if c in done]


def outcomes(system: System) -> dict:
    """How each order ended, as the client saw it."""
    ends = {m.correlation: m.type for m in system.client.received}
    orders = [c for c in system.trace.correlations() if str(c).startswith("order-")]
    out = {"completed": 0, "compensated": 0, "stuck": 0}
    for c in orders:
        kind = ends.get(c)
        out["completed" if kind == "OrderCompleted" else "compensated" if kind == "OrderCancelled" else "stuck"] += 1
    return out


# -- the figures ----------------------------------------------------------------------------

def figures() -> dict:
    """Every figure of the gallery, by file name (built in a fixed order: deterministic)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the runs here fail nothing on purpose
        orch = orchestrated_saga()
        chor = choreographed_saga()
        sweep = {}
        for pattern in ("orchestration", "choreography"):
            for rate in (25, 50, 100, 150, 200):
                sweep[pattern, rate] = under_load(pattern, rate, seconds=1.0)
        busy = under_load("orchestration", 140, seconds=1.0)
        big = under_load("choreography", 250, seconds=3.0)

    comp = ("ReleaseStock", "StockReleased")
    rows = []
    for (pattern, rate), system in sweep.items():
        lat = sorted(latencies(system))
        n = len(lat)
        rows.append({"pattern": pattern, "rate": rate, "throughput": n / 1.0 if n else 0.0,
                     "p50": lat[n // 2], "p95": lat[min(n - 1, int(n * 0.95))]})
    # Throughput over the arrival window would credit orders finished after it; count
    # what completed per second of the time it took to finish them all instead.
    for row in rows:
        system = sweep[row["pattern"], row["rate"]]
        row["throughput"] = round(len(latencies(system)) / max(system.now, 1.0), 2)

    conducted = conductor_saga()
    illustrative = " (illustrative numbers)"
    return {
        "sequence_orchestration": viz.sequence_diagram(orch, fault_windows=orch.network.faults,
                                                      compensation_types=comp),
        "sequence_one_order": viz.sequence_diagram(orch, correlation="order-2", compensation_types=comp),
        "sequence_choreography": viz.sequence_diagram(chor, fault_windows=chor.network.faults,
                                                     compensation_types=comp),
        "sequence_10k": viz.sequence_diagram(big, title="Messages under heavy load (WebGL)"),
        "topology_orchestration": viz.topology(orch),
        "topology_pair_network": viz.topology_pair(orch, chor, logical=False),
        "topology_pair_logical": viz.topology_pair(orch, chor, logical=True),
        "timeline_order": viz.transaction_timeline(orch, "order-2"),
        "sequence_conductor_saga": viz.sequence_diagram(conducted),
        "timeline_workflow": viz.workflow_timeline(conducted, "order-7"),
        "latency": viz.latency_distributions({"orchestration": latencies(sweep["orchestration", 100]),
                                              "choreography": latencies(sweep["choreography", 100])}),
        "saturation": viz.saturation_curve(rows),
        "queues": viz.queue_and_utilization(busy),
        "outcomes": viz.outcome_counts({"orchestration": outcomes(orch), "choreography": outcomes(chor)}),
        "change_impact": viz.change_impact([
            {"change": "add a fraud check", "pattern": "orchestration", "changed": ["order workflow", "fraud (new)"]},
            {"change": "add a fraud check", "pattern": "choreography",
             "changed": ["fraud (new)", "payment (listens to FraudChecked)", "broker subscriptions"]},
            {"change": "add analytics (a listener)", "pattern": "orchestration",
             "changed": ["order workflow", "analytics (new)"]},
            {"change": "add analytics (a listener)", "pattern": "choreography", "changed": ["analytics (new)"]},
        ], title="Change impact: what had to change" + illustrative),
        "orchestrator_growth": viz.orchestrator_growth(
            [{"series": "one orchestrator", "services": n, "size": 2 * n + 1} for n in range(2, 11)]
            + [{"series": "per-domain orchestrators (largest)", "services": n, "size": 2 * min(n, 4) + 1}
               for n in range(2, 11)],
            title="Does the orchestrator become a big service?" + illustrative),
        "retry_backoff": viz.retry_backoff(retry_schedules(),
                                           title="Conductor's retry logics: the wait before each retry "
                                                 "(retryDelaySeconds = 1)"),
        "animation": viz.message_animation(orch, compensation_types=comp),
        **workflow_and_causation(conducted),
    }


def workflow_and_causation(conducted: System) -> dict:
    """The workflow diagram of the Conductor-style saga (its path, and its compensation's), and
    the causation graph of a compensated order under choreography (a scenario run)."""
    from microlab import scenarios
    from microlab.orchestration import execution

    registry = conducted.services["orchestrator"].registry
    main = registry.find("order_saga").definition
    compensation = registry.find("order_saga_compensation").definition
    # Seed 1: order-2's payment fails; inventory releases the stock it reserved.
    chor_run = scenarios.order_saga("choreography", orders=3, failure={"payment": 0.5}, seed=1)
    return {
        "workflow_definition": viz.workflow_diagram(main),
        "workflow_saga": viz.workflow_diagram(main, execution(conducted, "order-7"),
                                              failure_workflow=compensation),
        "causation_choreography": viz.causation_figure(chor_run, "order-2"),
    }


def write(figs: dict, outdir: Path, png: bool = True) -> list[Path]:
    """Write each figure as HTML, then (if ``png``) screenshot each HTML file in Chromium."""
    outdir.mkdir(parents=True, exist_ok=True)
    pages = []
    for name, fig in figs.items():
        path = outdir / f"{name}.html"
        # plotly.js (4.8 MB) once, in OUTDIR/plotly.min.js, rather than in every page.
        fig.write_html(path, include_plotlyjs="directory", full_html=True,
                       config={"displaylogo": False}, default_width="1100px")
        pages.append(path)
    if png:
        screenshots(pages)
    return pages


def screenshots(pages: list[Path]) -> None:
    """PNG of each page's figure, by headless Chromium (Debian's, driven by playwright)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        print(f"no Chromium at {CHROMIUM}: HTML written, PNG skipped (apt-get install chromium)",
              file=sys.stderr)
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                    args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1180, "height": 900})
        for path in pages:
            page.goto(path.resolve().as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg")
            if path.stem in SHOW_FRAME:   # an animation's first frame is nearly empty
                page.evaluate("([f]) => { const gd = document.querySelector('.js-plotly-plot');"
                              " return Plotly.animate(gd, [f], {frame: {duration: 0, redraw: false},"
                              " transition: {duration: 0}, mode: 'immediate'}); }", [SHOW_FRAME[path.stem]])
            page.wait_for_timeout(400)     # WebGL traces draw a moment after the SVG
            page.locator(".js-plotly-plot").first.screenshot(path=str(path.with_suffix(".png")))
        browser.close()


def main(argv=None) -> int:
    """Parse the command line and write the gallery."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="folder to write the HTML and PNG files into")
    parser.add_argument("--no-png", action="store_true", help="write HTML only")
    parser.add_argument("--only", nargs="*", help="figure names to write (default: all)")
    args = parser.parse_args(argv)
    figs = figures()
    if args.only:
        unknown = [n for n in args.only if n not in figs]
        if unknown:
            parser.error(f"unknown figure {', '.join(unknown)}; choose from {', '.join(figs)}")
        figs = {n: figs[n] for n in args.only}
    pages = write(figs, args.outdir, png=not args.no_png)
    print(f"wrote {len(pages)} figures to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
