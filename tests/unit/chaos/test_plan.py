"""The drill's plan: transfers with the states their scripts make true, and the fault schedule."""

from __future__ import annotations

import time
from collections import Counter

from resolver_tools.chaos import faults, scenario
from resolver_tools.chaos.intake import IntakeProgress
from worker.domain.types import State


def test_the_same_seed_plans_the_same_drill_and_another_seed_another():
    # when
    first = scenario.plan(300, seed=5)

    # then
    assert first == scenario.plan(300, seed=5)
    assert first != scenario.plan(300, seed=6)
    assert len({item.key for item in first}) == 300


def test_every_instance_gets_transfers_with_the_state_its_script_makes_true():
    # when
    planned = scenario.plan(2000, seed=1)
    by_instance = Counter(item.transfer.instance.name for item in planned)

    # then
    assert set(by_instance) == {i.name for i in scenario.all_instances()}
    for item in planned:
        script, record = item.transfer.script, item.transfer.record
        if item.transfer.instance.name == scenario.WRONG_SECRET or record:
            assert item.expected is State.NEEDS_REVIEW
        elif script is None:
            assert item.expected is State.FAILED  # never found, failed past the grace period
        else:
            final = script[-1].get("then", script[-1]["answer"])
            assert item.expected is State(final)


def test_providers_without_a_pending_status_never_answer_not_found_twice_before_the_end():
    # when / then
    for item in scenario.plan(2000, seed=1):
        if item.transfer.instance.kind in scenario.NO_PENDING_STATUS and item.transfer.script:
            assert all(step.get("times", 1) == 1 for step in item.transfer.script
                       if step["answer"] == "pending")


def test_the_fault_plan_has_what_was_asked_with_the_first_restarts_during_intake():
    # when
    plan = faults.plan_faults(worker_kills=5, redis_wipes=2, pg_restarts=1, seed=3,
                              window_s=40)
    actions = Counter(fault.action for fault in plan)

    # then
    assert actions == {faults.KILL_WORKER: 5, faults.WIPE_REDIS: 2, faults.RESTART_POSTGRES: 1,
                       faults.SECOND_BEAT: 1, faults.PROVIDER_DOWN: 1}
    wipes = [f for f in plan if f.action == faults.WIPE_REDIS]
    assert wipes[0].during_intake is not None and wipes[1].after_intake_s is not None
    assert next(f for f in plan if f.action == faults.RESTART_POSTGRES).during_intake
    kills_in_intake = [f for f in plan if f.action == faults.KILL_WORKER and f.during_intake]
    assert len(kills_in_intake) == 3


def test_the_runner_fires_faults_at_their_moment_and_their_ends_after():
    # given
    progress = IntakeProgress(total=10)
    fired: list[str] = []
    actions = {name: (lambda name=name: fired.append(name) or "") for name in
               (faults.KILL_WORKER, faults.PROVIDER_DOWN, faults.PROVIDER_UP)}
    plan = [faults.Fault(faults.KILL_WORKER, during_intake=0.5),
            faults.Fault(faults.PROVIDER_DOWN, after_intake_s=0, ends_after_s=0.1)]
    runner = faults.FaultRunner(plan, progress, actions, started=time.monotonic())
    # when the runner runs while intake goes on and then ends
    runner.start()
    try:
        time.sleep(0.2)
        assert fired == []  # nothing acknowledged yet
        progress.acknowledged.update({("p", str(n)): None for n in range(5)})  # type: ignore
        _wait(lambda: fired == [faults.KILL_WORKER])
        progress.finished_at = time.monotonic()
        _wait(lambda: runner.done)
    finally:
        runner.stop()

    # then
    assert fired == [faults.KILL_WORKER, faults.PROVIDER_DOWN, faults.PROVIDER_UP]
    assert runner.count(faults.PROVIDER_DOWN) == 1


def _wait(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
