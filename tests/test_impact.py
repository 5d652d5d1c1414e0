"""Change impact between two system descriptions."""

from microlab import Service, System
from microlab.impact import compare, describe_system


class Listener(Service):
    def on_OrderPlaced(self, msg):
        pass

    def describe(self):
        return {"subscribes": ["OrderPlaced"], "publishes": []}


def test_compare_lists_added_and_changed_definitions():
    before = {"services": {"payment": {"handles": ["charge"]}}, "workflows": {"saga": {"tasks": [1, 2]}}}
    after = {"services": {"payment": {"handles": ["charge", "refund"]}, "fraud": {"handles": ["check"]}},
             "workflows": {"saga": {"tasks": [1, 3, 2]}}}
    impact = compare(before, after)
    assert impact.added_services == ["fraud"]
    assert impact.changed_services == {"payment": ["handles"]}
    assert impact.changed_workflows == ["saga"]
    assert impact.existing_definitions_changed == 2 and impact.definitions_touched == 3
    assert "changed service payment: handles" in str(impact)


def test_describe_system_uses_describe_when_present_and_ignores_the_client():
    system = System()
    system.add(Listener("analytics"), Service("payment"))
    system.client  # noqa: B018 (adds the client)
    desc = describe_system(system, workflows={"w": {"b": 1, "a": 2}})
    assert list(desc["services"]) == ["analytics", "payment"]
    assert desc["services"]["analytics"] == {"publishes": [], "subscribes": ["OrderPlaced"]}
    assert desc["services"]["payment"] == {"handles": []}
    assert compare(desc, desc).definitions_touched == 0
