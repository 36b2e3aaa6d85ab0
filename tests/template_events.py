#!/usr/bin/env python3
"""Check template.yaml's EventBridge patterns against the sample events in events/.

* Every EventBridge pattern in the template is extracted (AWS::Events::Rule EventPattern and
  SAM EventBridgeRule / CloudWatchEvent Pattern), using cfn-lint's YAML decoder so that
  short-form intrinsics (!Ref, !GetAtt, ...) load.
* Every events/*.json file except scheduled-sweep.json and sqs-*.json must be matched by exactly
  the rule meant for it (EXPECTED below, first matching file-name prefix wins), and by no other
  rule. Failed API calls (detail.errorCode) must match nothing.
* The bodies of the SQS sample (EventBridge events delivered through the queue) must match the
  rule for their kind too; the schedule rule must exist.
* Every rule that targets the queue must be allowed by the queue policy (aws:SourceArn), and the
  policy must allow nothing else.

The matcher implements the EventBridge pattern features the template may use: exact values,
prefix, suffix, equals-ignore-case, exists, anything-but (value, list, prefix), numeric,
nested objects, and arrays in the event (an array matches if any element matches).

Run with the project's venv python (scripts/test does): python3 tests/template_events.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"

# file-name prefix -> logical id of the rule meant for it (None: must match no rule).
# Ordered: the first prefix that matches the file name decides.
EXPECTED: list[tuple[str, str | None]] = [
    ("organizations-attach-policy-failed", None),
    ("organizations-create-account-result", "OrganizationsServiceEventRule"),
    ("organizations-", "OrganizationsApiCallRule"),
    ("controltower-update-landing-zone-service-event", "ControlTowerLifecycleRule"),
    ("controltower-", "ControlTowerApiCallRule"),
    ("bedrock-", "BedrockApiCallRule"),
]
SCHEDULE_RULE = "ScheduledSweepRule"
QUEUE = "GuardQueue"
QUEUE_POLICY = "GuardQueuePolicy"


class PatternError(Exception):
    """The pattern uses syntax this matcher does not implement (or that EventBridge rejects)."""


_MISSING = object()


# ---------------------------------------------------------------------------
# EventBridge pattern matching
# ---------------------------------------------------------------------------
def matches(pattern: dict, event: object) -> bool:
    """True when `event` (a JSON value) matches the EventBridge `pattern` (a JSON object)."""
    if not isinstance(pattern, dict):
        raise PatternError(f"a pattern must be an object, got {pattern!r}")
    for key, sub in pattern.items():
        if key.startswith("$"):
            raise PatternError(f"unsupported pattern key {key!r}")
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(sub, dict):
            # Nested object: the event's value must be an object (or absent, where only
            # `exists: false` leaves can match).
            if value is not _MISSING and not isinstance(value, dict):
                value = _MISSING
            if not matches(sub, {} if value is _MISSING else value):
                return False
        elif isinstance(sub, list):
            if not sub:
                raise PatternError(f"empty match list for {key!r}")
            if not _leaf_matches(sub, value):
                return False
        else:
            raise PatternError(f"pattern values must be arrays or objects, got {key!r}: {sub!r}")
    return True


def _leaf_matches(matchers: list, value: object) -> bool:
    # Objects are not leaves: for matching purposes they do not exist at this path.
    if isinstance(value, dict):
        value = _MISSING
    if isinstance(value, list):
        candidates = [v for v in value if not isinstance(v, (dict, list))]
        if not candidates:
            candidates = [_MISSING]
    else:
        candidates = [value]
    return any(_one(m, c) for m in matchers for c in candidates)


def _scalar_equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def _one(matcher: object, value: object) -> bool:
    if not isinstance(matcher, dict):
        return value is not _MISSING and _scalar_equal(matcher, value)
    if len(matcher) != 1:
        raise PatternError(f"a content filter has exactly one key: {matcher!r}")
    (op, arg), = matcher.items()
    if op == "exists":
        if not isinstance(arg, bool):
            raise PatternError(f"exists takes true or false: {matcher!r}")
        return (value is not _MISSING) == arg
    if value is _MISSING:
        return False
    if op == "prefix":
        if isinstance(arg, dict):
            (sub_op, s), = arg.items()
            if sub_op != "equals-ignore-case":
                raise PatternError(f"unsupported prefix form {matcher!r}")
            return isinstance(value, str) and value.lower().startswith(s.lower())
        return isinstance(value, str) and value.startswith(arg)
    if op == "suffix":
        if isinstance(arg, dict):
            (sub_op, s), = arg.items()
            if sub_op != "equals-ignore-case":
                raise PatternError(f"unsupported suffix form {matcher!r}")
            return isinstance(value, str) and value.lower().endswith(s.lower())
        return isinstance(value, str) and value.endswith(arg)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == arg.lower()
    if op == "anything-but":
        if isinstance(arg, dict):
            (sub_op, s), = arg.items()
            if sub_op == "prefix":
                return not (isinstance(value, str) and value.startswith(s))
            if sub_op == "suffix":
                return not (isinstance(value, str) and value.endswith(s))
            if sub_op == "equals-ignore-case":
                items = s if isinstance(s, list) else [s]
                return not (isinstance(value, str) and value.lower() in [i.lower() for i in items])
            raise PatternError(f"unsupported anything-but form {matcher!r}")
        items = arg if isinstance(arg, list) else [arg]
        return not any(_scalar_equal(i, value) for i in items)
    if op == "numeric":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        if len(arg) % 2:
            raise PatternError(f"numeric takes operator/value pairs: {matcher!r}")
        ops = {"<": float.__lt__, "<=": float.__le__, "=": float.__eq__,
               ">": float.__gt__, ">=": float.__ge__}
        for i in range(0, len(arg), 2):
            if arg[i] not in ops:
                raise PatternError(f"unknown numeric operator {arg[i]!r}")
            if not ops[arg[i]](float(value), float(arg[i + 1])):
                return False
        return True
    raise PatternError(f"unsupported content filter {op!r}")


def self_test() -> tuple[int, list[str]]:
    """Known answers for the matcher itself; returns (cases, failures)."""
    ev = {
        "source": "aws.organizations",
        "detail": {"eventName": "AttachPolicy", "n": 5, "tags": ["a", "b"], "obj": {"k": "v"},
                   "empty": None},
    }
    cases = [
        ({"source": ["aws.organizations"]}, True),
        ({"source": ["aws.other", "aws.organizations"]}, True),
        ({"source": ["aws.organization"]}, False),
        ({"source": [{"prefix": "aws."}]}, True),
        ({"source": [{"suffix": ".organizations"}]}, True),
        ({"source": [{"equals-ignore-case": "AWS.Organizations"}]}, True),
        ({"source": [{"anything-but": "aws.organizations"}]}, False),
        ({"source": [{"anything-but": ["aws.ec2", "aws.s3"]}]}, True),
        ({"source": [{"anything-but": {"prefix": "aws."}}]}, False),
        ({"detail": {"eventName": ["AttachPolicy"]}}, True),
        ({"detail": {"eventName": ["AttachPolicy"], "errorCode": [{"exists": False}]}}, True),
        ({"detail": {"errorCode": [{"exists": True}]}}, False),
        ({"detail": {"eventName": [{"exists": True}]}}, True),
        ({"detail": {"obj": [{"exists": True}]}}, False),  # objects are not leaves
        ({"detail": {"obj": {"k": ["v"]}}}, True),
        ({"detail": {"obj": {"k": ["w"]}}}, False),
        ({"detail": {"tags": ["b"]}}, True),
        ({"detail": {"tags": ["c"]}}, False),
        ({"detail": {"n": [5]}}, True),
        ({"detail": {"n": ["5"]}}, False),
        ({"detail": {"n": [{"numeric": [">", 4, "<=", 5]}]}}, True),
        ({"detail": {"n": [{"numeric": [">", 5]}]}}, False),
        ({"detail": {"empty": [None]}}, True),
        ({"detail": {"missing": {"deeper": [{"exists": False}]}}}, True),
        ({"nodetail": {"x": ["y"]}}, False),
        ({"detail": {"eventName": [{"anything-but": "DetachPolicy"}]}}, True),
        ({"detail": {"missing": [{"anything-but": "x"}]}}, False),
    ]
    failures = []
    for pattern, want in cases:
        got = matches(pattern, ev)
        if got != want:
            failures.append(f"matcher self-test: {json.dumps(pattern)} gave {got}, expected {want}")
    return len(cases), failures


# ---------------------------------------------------------------------------
# Template
# ---------------------------------------------------------------------------
def load_template() -> dict:
    try:
        from cfnlint.decode import decode_str
    except ImportError:
        sys.exit("template_events.py: cfn-lint is not installed in this Python "
                 "(run it with .venv/bin/python, see scripts/test)")
    template, errors = decode_str(TEMPLATE.read_text(encoding="utf-8"))
    if errors or template is None:
        for e in errors:
            print(f"template.yaml: {e}", file=sys.stderr)
        sys.exit("template_events.py: template.yaml does not parse")
    return template


def plain(node: object) -> object:
    """cfn-lint's node classes -> plain dict/list/str (JSON round trip)."""
    return json.loads(json.dumps(node))


def extract_rules(template: dict) -> tuple[dict[str, dict], dict[str, dict]]:
    """Returns ({rule id: pattern}, {rule id: rule properties}) for pattern rules and every
    AWS::Events::Rule (including schedule rules)."""
    patterns: dict[str, dict] = {}
    rules: dict[str, dict] = {}
    for lid, res in (template.get("Resources") or {}).items():
        rtype = res.get("Type")
        props = plain(res.get("Properties") or {})
        if rtype == "AWS::Events::Rule":
            rules[lid] = props
            pattern = props.get("EventPattern")
            if isinstance(pattern, str):
                pattern = json.loads(pattern)
            if pattern is not None:
                patterns[lid] = pattern
        elif rtype == "AWS::Serverless::Function":
            for ev_id, ev in (props.get("Events") or {}).items():
                if ev.get("Type") in ("EventBridgeRule", "CloudWatchEvent"):
                    pattern = (ev.get("Properties") or {}).get("Pattern")
                    if pattern is not None:
                        patterns[f"{lid}.{ev_id}"] = pattern
    return patterns, rules


def getatt_target(value: object) -> tuple[str, str] | None:
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        arg = value["Fn::GetAtt"]
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        return arg[0], arg[1]
    return None


def expected_rule(name: str) -> tuple[bool, str | None]:
    for prefix, rule in EXPECTED:
        if name.startswith(prefix):
            return True, rule
    return False, None


# ---------------------------------------------------------------------------
def main() -> int:
    passed = 0
    failures: list[str] = []

    def check(ok: bool, message: str) -> None:
        nonlocal passed
        if ok:
            passed += 1
        else:
            failures.append(message)

    n_cases, st = self_test()
    failures.extend(st)
    passed += n_cases - len(st)

    template = load_template()
    try:
        patterns, rules = extract_rules(template)
    except json.JSONDecodeError as e:
        print(f"FAIL: an EventPattern string is not JSON: {e}", file=sys.stderr)
        return 1
    check(bool(patterns), "template.yaml: no EventBridge patterns found")
    expected_ids = {r for _, r in EXPECTED if r}
    for rid in sorted(expected_ids):
        check(rid in patterns, f"template.yaml: rule {rid} (expected by events/) has no EventPattern")

    # Every pattern names exactly one source.
    for rid, pattern in sorted(patterns.items()):
        src = pattern.get("source")
        check(isinstance(src, list) and len(src) == 1,
              f"{rid}: pattern should name exactly one source, has {src!r}")

    def matching(event: dict) -> list[str]:
        return sorted(rid for rid, p in patterns.items() if matches(p, event))

    files = sorted(EVENTS.glob("*.json"))
    check(bool(files), "events/: no sample events")
    seen_rules: set[str] = set()
    for path in files:
        name = path.name
        try:
            event = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            failures.append(f"{name}: not valid JSON: {e}")
            continue
        try:
            if name == "scheduled-sweep.json":
                check(event.get("detail-type") == "Scheduled Event" and event.get("source") == "aws.events",
                      f"{name}: not a Scheduled Event from aws.events")
                check(bool(rules.get(SCHEDULE_RULE, {}).get("ScheduleExpression")),
                      f"template.yaml: {SCHEDULE_RULE} with a ScheduleExpression is missing")
                got = matching(event)
                check(not got, f"{name}: matched by pattern rules {got}, expected none")
                continue
            if name.startswith("sqs-"):
                records = event.get("Records") or []
                check(bool(records), f"{name}: no Records")
                for i, rec in enumerate(records):
                    body = json.loads(rec["body"])
                    want = "OrganizationsApiCallRule" if "attach-policy" in name else None
                    got = matching(body)
                    check(got == ([want] if want else []),
                          f"{name}: Records[{i}].body matched by {got}, expected {[want] if want else []}")
                continue
            known, want = expected_rule(name)
            if not known:
                failures.append(f"{name}: no rule mapping for this file name (extend EXPECTED in {Path(__file__).name})")
                continue
            got = matching(event)
            if want is None:
                check(not got, f"{name}: a failed call must match no rule, matched by {got}")
                # It must be the errorCode that excludes it: without it the event matches.
                detail = dict(event.get("detail") or {})
                check("errorCode" in detail, f"{name}: expected a detail.errorCode")
                detail.pop("errorCode", None)
                detail.pop("errorMessage", None)
                got_ok = matching({**event, "detail": detail})
                check(len(got_ok) == 1,
                      f"{name}: without errorCode it should match exactly one rule, matched by {got_ok}")
            else:
                seen_rules.add(want)
                check(got == [want], f"{name}: matched by {got or 'no rule'}, expected exactly [{want}]")
                # And no rule for another source matches it.
                others = [r for r in got if patterns[r].get("source") != [event.get("source")]]
                check(not others, f"{name}: matched by rules of another source: {others}")
        except PatternError as e:
            failures.append(f"{name}: {e}")

    for rid in sorted(expected_ids - seen_rules):
        failures.append(f"rule {rid} has no sample event in events/")
    for rid in sorted(set(patterns) - expected_ids):
        failures.append(f"rule {rid} is not covered by EXPECTED in {Path(__file__).name}")

    # Queue policy: exactly the rules that target the queue may send.
    resources = template.get("Resources") or {}
    targeting = sorted(
        rid for rid, props in rules.items()
        if any(getatt_target(t.get("Arn")) == (QUEUE, "Arn") for t in props.get("Targets") or [])
    )
    check(set(targeting) == set(rules),
          f"every EventBridge rule should target {QUEUE}; targeting: {targeting}, rules: {sorted(rules)}")
    policy = plain(((resources.get(QUEUE_POLICY) or {}).get("Properties") or {}).get("PolicyDocument") or {})
    allowed: list[str] = []
    for st_ in policy.get("Statement") or []:
        if st_.get("Effect") != "Allow":
            continue
        arns = (((st_.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn"))
        check(arns is not None, f"{QUEUE_POLICY}: an Allow statement without an aws:SourceArn condition")
        for a in arns if isinstance(arns, list) else [arns] if arns else []:
            t = getatt_target(a)
            allowed.append(t[0] if t and t[1] == "Arn" else json.dumps(a))
    check(sorted(allowed) == targeting,
          f"{QUEUE_POLICY}: aws:SourceArn allows {sorted(allowed)}, rules targeting the queue are {targeting}")

    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
