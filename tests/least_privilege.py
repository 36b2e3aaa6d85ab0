#!/usr/bin/env python3
# Least privilege of the deployment: the IAM actions template.yaml grants the guard function are
# exactly the AWS SDK operations the code calls, plus a short, commented list of actions the
# platform needs on the function's behalf; and the alert topic, its key and the resources the
# role may touch are closed to everyone else. Run with .venv/bin/python (needs cfn-lint's
# template decoder); exits non-zero and prints FAIL lines on any mismatch.
#
# How the code's calls are found: every Rust file at the AWS edge (src/aws*, src/lambda*,
# src/bin, as in tests/architecture.rs), without comments and `#[cfg(test)]` modules, is scanned
# for method calls `.name(`; a name that is an operation of an AWS SDK crate the file uses
# (`aws_sdk_<service>`, a direct dependency in Cargo.toml) is an API call. Operation names and
# IAM prefixes come from the SDK crates themselves (Cargo.lock version, cargo's registry
# sources): `Metadata::new("ListRoots", ...)` in `src/operation/list_roots.rs` and the
# `SigningName` of `src/config.rs`, so `list_roots` -> `organizations:ListRoots` is not guessed.
#
# Self-test: the checks are run against mutated copies of the template (an action removed, one
# added, a wildcard, a stranger allowed to publish, ...) and must fail each time.
from __future__ import annotations

import copy
import json
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
FUNCTION = "GuardFunction"
TOPIC = "AlertTopic"
TOPIC_KEY = "AlertKey"

# Actions the function's role must hold although the code makes no such SDK call: the platform
# uses the role on the function's behalf. Every entry must be granted (they are needed), and
# nothing else outside the code's calls may be.
PLATFORM_ACTIONS: dict[str, str] = {
    # The SQS event source mapping polls the queue with the function's execution role.
    "sqs:ReceiveMessage": "SQS event source mapping (polls GuardQueue)",
    "sqs:DeleteMessage": "SQS event source mapping (deletes processed messages)",
    "sqs:GetQueueAttributes": "SQS event source mapping (validated when it is created)",
    # Lambda writes the function's logs with its execution role (the log group is in the
    # template, so CreateLogGroup is not needed).
    "logs:CreateLogStream": "Lambda logging to GuardLogGroup",
    "logs:PutLogEvents": "Lambda logging to GuardLogGroup",
    # sns:Publish to a KMS-encrypted topic: SNS asks KMS for a data key in the publisher's name.
    "kms:GenerateDataKey": "SNS encryption of the alert topic (publisher's permission)",
    "kms:Decrypt": "SNS encryption of the alert topic (publisher's permission)",
}

# Services whose actions the code calls that cannot be scoped to a template resource, so
# `Resource: "*"` is accepted for them: Organizations List*/Describe* on roots, OUs, accounts and
# policies of the whole organization, and Bedrock's ListInferenceProfiles (not
# resource-scoped) / GetInferenceProfile in every configured source Region.
STAR_RESOURCE_PREFIXES = {"organizations", "bedrock"}

# Which template resource each service's actions must be scoped to (Ref or GetAtt .Arn).
SCOPED_TO = {
    "sns": TOPIC,
    "dynamodb": "StateTable",
    "sqs": "GuardQueue",
    "logs": "GuardLogGroup",
    "kms": TOPIC_KEY,
    # Objects under one key prefix (`!Sub ${GuardBucket.Arn}/prefix/*`), never the whole bucket.
    "s3": "GuardBucket",
}

EDGE_DIRS = ("src/aws", "src/lambda", "src/bin")
EDGE_FILES = ("src/aws.rs", "src/lambda.rs")


# ---------------------------------------------------------------------------
# The SDK: operation names and IAM prefixes, from the crates cargo resolved
# ---------------------------------------------------------------------------
class SetupError(Exception):
    pass


def direct_sdk_crates() -> list[str]:
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))
    deps = manifest.get("dependencies") or {}
    return sorted(name for name in deps if name.startswith("aws-sdk-"))


def locked_version(crate: str) -> str:
    lock = tomllib.loads((ROOT / "Cargo.lock").read_text(encoding="utf-8"))
    versions = [p["version"] for p in lock.get("package", []) if p.get("name") == crate]
    if len(versions) != 1:
        raise SetupError(f"Cargo.lock: expected one version of {crate}, found {versions}")
    return versions[0]


def crate_dir(crate: str, version: str) -> Path:
    cargo_home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    hits = sorted((cargo_home / "registry" / "src").glob(f"*/{crate}-{version}"))
    if not hits:
        raise SetupError(f"sources of {crate} {version} not found under {cargo_home}/registry/src "
                         "(run `cargo fetch` first)")
    return hits[0]


METADATA = re.compile(r'Metadata::new\(\s*"([A-Za-z0-9]+)"\s*,')
SIGNING_NAME = re.compile(r'SigningName::from_static\(\s*"([a-z0-9-]+)"\s*\)')


def sdk_service(crate: str) -> tuple[str, dict[str, str]]:
    """(IAM prefix, {snake_case method: API operation name}) of one SDK crate."""
    root = crate_dir(crate, locked_version(crate))
    names = set(SIGNING_NAME.findall((root / "src" / "config.rs").read_text(encoding="utf-8")))
    if len(names) != 1:
        raise SetupError(f"{crate}: expected one SigningName in src/config.rs, found {sorted(names)}")
    operations: dict[str, str] = {}
    for path in sorted((root / "src" / "operation").glob("*.rs")):
        found = METADATA.findall(path.read_text(encoding="utf-8"))
        if len(found) == 1:
            operations[path.stem] = found[0]
    if not operations:
        raise SetupError(f"{crate}: no operations found under {root}/src/operation")
    return names.pop(), operations


# ---------------------------------------------------------------------------
# The code's calls
# ---------------------------------------------------------------------------
def edge_files() -> list[Path]:
    files = [ROOT / f for f in EDGE_FILES if (ROOT / f).is_file()]
    for d in EDGE_DIRS:
        files.extend(sorted((ROOT / d).rglob("*.rs")))
    return sorted(set(files))


def strip_code(text: str) -> str:
    """Source without unit-test modules, comments and string literals (line numbers kept)."""
    cut = re.search(r"(?m)^\s*#\[cfg\(test\)\]", text)
    if cut:
        text = text[: cut.start()]
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == '"' or (c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))):
            if c == "r":
                m = re.match(r'r(#*)"', text[i:])
                end = '"' + m.group(1)
                j = text.find(end, i + len(m.group(0)))
                j = n if j < 0 else j + len(end)
            else:
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                j = min(j + 1, n)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


CALL = re.compile(r"\.\s*([a-z_][a-z0-9_]*)\s*(?:::\s*<[^>]*>\s*)?\(")
SDK_MENTION = re.compile(r"\baws_sdk_([a-z0-9_]+)\b")


def code_calls(services: dict[str, tuple[str, dict[str, str]]]) -> tuple[dict[str, list[str]], list[str]]:
    """({IAM action: [file:line, ...]}, problems). `services` maps the Rust crate name
    (aws_sdk_sns) to (IAM prefix, operations)."""
    calls: dict[str, list[str]] = {}
    problems: list[str] = []
    files = edge_files()
    if not files:
        problems.append("no Rust files found at the AWS edge (src/aws, src/lambda, src/bin)")
    for path in files:
        code = strip_code(path.read_text(encoding="utf-8"))
        used = sorted({m for m in SDK_MENTION.findall(code) if f"aws_sdk_{m}" in services})
        if not used:
            continue
        for m in CALL.finditer(code):
            method = m.group(1)
            owners = [s for s in used if method in services[f"aws_sdk_{s}"][1]]
            if not owners:
                continue
            where = f"{path.relative_to(ROOT)}:{code.count(chr(10), 0, m.start()) + 1}"
            if len(owners) > 1:
                problems.append(f"{where}: .{method}() is an operation of several SDKs this file uses "
                                f"({', '.join(owners)}); split the file or extend least_privilege.py")
                continue
            prefix, ops = services[f"aws_sdk_{owners[0]}"]
            calls.setdefault(f"{prefix}:{ops[method]}", []).append(where)
    return calls, problems


# ---------------------------------------------------------------------------
# The template
# ---------------------------------------------------------------------------
def load_template() -> dict:
    try:
        from cfnlint.decode import decode_str
    except ImportError:
        sys.exit("least_privilege.py: cfn-lint is not installed in this Python "
                 "(run it with .venv/bin/python, see scripts/test)")
    template, errors = decode_str(TEMPLATE.read_text(encoding="utf-8"))
    if errors or template is None:
        for e in errors:
            print(f"template.yaml: {e}", file=sys.stderr)
        sys.exit("least_privilege.py: template.yaml does not parse")
    return json.loads(json.dumps(template))


def as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def ref_of(value: object) -> str | None:
    """The logical id of `!Ref X`, `!GetAtt X.Arn` or `!Sub ${X.Arn}/prefix/*` (objects under a
    key prefix of bucket X), else None."""
    if isinstance(value, dict) and len(value) == 1:
        sub = value.get("Fn::Sub")
        if isinstance(sub, str):
            match = re.fullmatch(r"\$\{(\w+)\.Arn\}/[A-Za-z0-9_.-]+/\*", sub)
            return match.group(1) if match else None
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            arg = value["Fn::GetAtt"]
            if isinstance(arg, str):
                arg = arg.split(".", 1)
            if isinstance(arg, list) and len(arg) == 2 and arg[1] == "Arn":
                return arg[0]
    return None


def role_statements(template: dict, problems: list[str]) -> tuple[str | None, list[tuple[str, dict]]]:
    """(role logical id, [(where, statement)]) of every identity policy of the function."""
    resources = template.get("Resources") or {}
    fn = resources.get(FUNCTION)
    if not fn or fn.get("Type") != "AWS::Serverless::Function":
        problems.append(f"template.yaml: no AWS::Serverless::Function {FUNCTION}")
        return None, []
    props = fn.get("Properties") or {}
    role = ref_of(props.get("Role"))
    if role is None or (resources.get(role) or {}).get("Type") != "AWS::IAM::Role":
        problems.append(f"{FUNCTION}: Role must be !GetAtt <an AWS::IAM::Role of the template>.Arn "
                        "(a SAM-generated role is not checked here)")
        return None, []
    for key in ("Policies", "PermissionsBoundary"):
        if key in props:
            problems.append(f"{FUNCTION}: {key} is set but SAM ignores it when Role is given; "
                            "grant through the role's policies")
    role_props = resources[role].get("Properties") or {}
    if role_props.get("ManagedPolicyArns"):
        problems.append(f"{role}: ManagedPolicyArns {role_props['ManagedPolicyArns']} grant actions "
                        "this test cannot see; use inline statements")
    out: list[tuple[str, dict]] = []
    for i, pol in enumerate(as_list(role_props.get("Policies"))):
        for st in as_list((pol.get("PolicyDocument") or {}).get("Statement")):
            out.append((f"{role}.Policies[{i}]", st))
    for lid, res in resources.items():
        if res.get("Type") not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            continue
        rp = res.get("Properties") or {}
        roles = [ref_of(r) for r in as_list(rp.get("Roles"))] + [ref_of(rp.get("RoleName"))]
        if role not in roles:
            continue
        for st in as_list((rp.get("PolicyDocument") or {}).get("Statement")):
            out.append((lid, st))
    if not out:
        problems.append(f"{role}: no policy statements found")
    return role, out


def check_role(template: dict, calls: dict[str, list[str]]) -> list[str]:
    problems: list[str] = []
    role, statements = role_statements(template, problems)
    granted: dict[str, str] = {}  # lower-cased action -> as written
    for where, st in statements:
        sid = st.get("Sid", "?")
        if st.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource"):
            if key in st:
                problems.append(f"{where} {sid}: {key} grants more than it names")
        actions = as_list(st.get("Action"))
        resources = as_list(st.get("Resource"))
        for action in actions:
            if not isinstance(action, str):
                problems.append(f"{where} {sid}: action {action!r} is not a literal")
                continue
            if "*" in action or "?" in action:
                problems.append(f"{where} {sid}: wildcard action {action}")
            granted[action.lower()] = action
            prefix = action.split(":", 1)[0].lower()
            for res in resources:
                if res == "*":
                    if prefix not in STAR_RESOURCE_PREFIXES:
                        problems.append(f"{where} {sid}: {action} on Resource \"*\"; scope it to "
                                        f"{SCOPED_TO.get(prefix, 'a template resource')}")
                elif prefix in SCOPED_TO and ref_of(res) != SCOPED_TO[prefix]:
                    problems.append(f"{where} {sid}: {action} on {json.dumps(res)}, expected "
                                    f"!Ref/!GetAtt {SCOPED_TO[prefix]}")
                elif prefix not in SCOPED_TO and ref_of(res) is None:
                    problems.append(f"{where} {sid}: {action} on {json.dumps(res)}, not a template resource")
    needed = {a.lower(): a for a in calls}
    platform = {a.lower(): a for a in PLATFORM_ACTIONS}
    for low, action in sorted(needed.items()):
        if low not in granted:
            problems.append(f"{action} is called ({', '.join(calls[action][:3])}) but not granted to {role}")
    for low, action in sorted(platform.items()):
        if low not in granted:
            problems.append(f"{action} is needed by the platform ({PLATFORM_ACTIONS[action]}) but not granted")
    for low, action in sorted(granted.items()):
        if low not in needed and low not in platform:
            problems.append(f"{action} is granted to {role} but the code never calls it "
                            "(remove it, or add it to PLATFORM_ACTIONS with the reason)")
    return problems


def principal_roles(st: dict) -> tuple[list[str | None], bool]:
    """(roles named as AWS principals, whether any other kind of principal is present)."""
    principal = st.get("Principal")
    if principal == "*" or not isinstance(principal, dict):
        return [], True
    others = any(k != "AWS" for k in principal)
    return [ref_of(p) for p in as_list(principal.get("AWS"))], others


def check_topic(template: dict) -> list[str]:
    problems: list[str] = []
    resources = template.get("Resources") or {}
    role = ref_of(((resources.get(FUNCTION) or {}).get("Properties") or {}).get("Role"))
    topic = (resources.get(TOPIC) or {}).get("Properties") or {}
    if ref_of(topic.get("KmsMasterKeyId")) != TOPIC_KEY:
        problems.append(f"{TOPIC}: KmsMasterKeyId must be !Ref {TOPIC_KEY} (a customer managed key)")
    policies = [
        (lid, res) for lid, res in resources.items()
        if res.get("Type") == "AWS::SNS::TopicPolicy"
        and TOPIC in [ref_of(t) for t in as_list((res.get("Properties") or {}).get("Topics"))]
    ]
    if len(policies) != 1:
        problems.append(f"{TOPIC}: expected one AWS::SNS::TopicPolicy, found {[p[0] for p in policies]}")
        return problems
    lid, res = policies[0]
    statements = as_list(((res.get("Properties") or {}).get("PolicyDocument") or {}).get("Statement"))
    deny_others = False
    for st in statements:
        sid = st.get("Sid", "?")
        actions = [a.lower() for a in as_list(st.get("Action")) if isinstance(a, str)]
        if st.get("Effect") == "Allow":
            roles, others = principal_roles(st)
            if others or roles != [role]:
                problems.append(f"{lid} {sid}: Allow for {json.dumps(st.get('Principal'))}; only the "
                                f"function's role {role} may be allowed")
            if actions != ["sns:publish"]:
                problems.append(f"{lid} {sid}: Allow of {as_list(st.get('Action'))}; only sns:Publish")
            if "Condition" in st:
                problems.append(f"{lid} {sid}: a conditional Allow is not expected here")
        elif st.get("Effect") == "Deny":
            arn_not = ((st.get("Condition") or {}).get("ArnNotEquals") or {}).get("aws:PrincipalArn")
            if (st.get("Principal") == "*" or st.get("Principal") == {"AWS": "*"}) \
                    and "sns:publish" in actions and ref_of(arn_not) == role \
                    and len((st.get("Condition") or {})) == 1:
                deny_others = True
    if not deny_others:
        problems.append(f"{lid}: no Deny of sns:Publish to every principal but {role} "
                        "(ArnNotEquals aws:PrincipalArn); same-account IAM policies could grant it")
    return problems


def check_key(template: dict) -> list[str]:
    problems: list[str] = []
    resources = template.get("Resources") or {}
    role = ref_of(((resources.get(FUNCTION) or {}).get("Properties") or {}).get("Role"))
    key = (resources.get(TOPIC_KEY) or {}).get("Properties") or {}
    if key.get("EnableKeyRotation") is not True:
        problems.append(f"{TOPIC_KEY}: EnableKeyRotation must be true")
    root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    for st in as_list((key.get("KeyPolicy") or {}).get("Statement")):
        sid = st.get("Sid", "?")
        if st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal")
        if principal == {"AWS": root}:
            continue  # the account administers its key through IAM (the default key policy)
        roles, others = principal_roles(st)
        if others or roles != [role]:
            problems.append(f"{TOPIC_KEY} {sid}: Allow for {json.dumps(principal)}; only the account "
                            f"root and the function's role {role}")
            continue
        actions = {a.lower() for a in as_list(st.get("Action")) if isinstance(a, str)}
        if not actions <= {"kms:generatedatakey", "kms:decrypt"}:
            problems.append(f"{TOPIC_KEY} {sid}: {sorted(actions)} for the function's role; only "
                            "kms:GenerateDataKey and kms:Decrypt")
        via = ((st.get("Condition") or {}).get("StringEquals") or {}).get("kms:ViaService")
        if via != {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"}:
            problems.append(f"{TOPIC_KEY} {sid}: the function's role must use the key only through "
                            "SNS (StringEquals kms:ViaService sns.${AWS::Region}.amazonaws.com)")
    return problems


def check_all(template: dict, calls: dict[str, list[str]]) -> list[str]:
    return check_role(template, calls) + check_topic(template) + check_key(template)


# ---------------------------------------------------------------------------
# Self-test: each mutation of the real template must be caught
# ---------------------------------------------------------------------------
def policy_statements(t: dict) -> list[dict]:
    return t["Resources"]["GuardFunctionPolicy"]["Properties"]["PolicyDocument"]["Statement"]


def statement(t: dict, sid: str) -> dict:
    for st in policy_statements(t):
        if st.get("Sid") == sid:
            return st
    raise KeyError(sid)


def remove_action(t: dict, action: str) -> None:
    for st in policy_statements(t):
        st["Action"] = [a for a in as_list(st.get("Action")) if a != action]


def topic_statements(t: dict) -> list[dict]:
    return t["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]


def self_test(template: dict, calls: dict[str, list[str]]) -> tuple[int, list[str]]:
    some_call = sorted(calls)[0] if calls else "organizations:ListRoots"
    mutations = [
        (f"{some_call} removed", lambda t: remove_action(t, some_call), "but not granted"),
        ("sqs:ReceiveMessage removed", lambda t: remove_action(t, "sqs:ReceiveMessage"), "needed by the platform"),
        ("an uncalled action granted",
         lambda t: statement(t, "ReadOrganization")["Action"].append("organizations:ListAccounts"),
         "never calls it"),
        ("a wildcard action",
         lambda t: statement(t, "ReadInferenceProfiles")["Action"].append("bedrock:*"), "wildcard action"),
        ("sns:Publish on *", lambda t: statement(t, "PublishAlerts").__setitem__("Resource", "*"), 'Resource "*"'),
        ("the stored snapshot on the whole bucket",
         lambda t: statement(t, "StoredSnapshot").__setitem__("Resource", {"Fn::Sub": "${GuardBucket.Arn}/*"}),
         "expected !Ref/!GetAtt GuardBucket"),
        ("NotAction", lambda t: policy_statements(t).append(
            {"Sid": "X", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), "NotAction"),
        ("a managed policy on the role",
         lambda t: t["Resources"]["GuardFunctionRole"]["Properties"].__setitem__(
             "ManagedPolicyArns", ["arn:aws:iam::aws:policy/ReadOnlyAccess"]), "ManagedPolicyArns"),
        ("a stranger may publish",
         lambda t: topic_statements(t).append(
             {"Sid": "X", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
              "Action": "sns:Publish", "Resource": {"Ref": TOPIC}}), "only the function's role"),
        ("no deny for others",
         lambda t: t["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"].__setitem__(
             "Statement", [s for s in topic_statements(t) if s.get("Sid") != "OnlyGuardFunctionPublishes"]),
         "no Deny of sns:Publish"),
        ("an unencrypted topic",
         lambda t: t["Resources"][TOPIC]["Properties"].pop("KmsMasterKeyId"), "KmsMasterKeyId"),
        ("the key usable outside SNS",
         lambda t: [st.pop("Condition", None) for st in t["Resources"][TOPIC_KEY]["Properties"]["KeyPolicy"]["Statement"]],
         "only through SNS"),
    ]
    failures: list[str] = []
    for name, mutate, expected in mutations:
        t = copy.deepcopy(template)
        try:
            mutate(t)
        except (KeyError, TypeError, AttributeError) as e:
            failures.append(f"self-test '{name}': cannot apply the mutation ({e!r}); update the self-test")
            continue
        problems = check_all(t, calls)
        if not any(expected in p for p in problems):
            failures.append(f"self-test '{name}': not caught (expected a problem containing {expected!r}, "
                            f"got {problems})")
    # The code side: a call the extraction must see, in a scratch string.
    sample = 'let x = self\n    .client // comment: .delete_table()\n    .scan()\n    .table_name("t.query()");\n'
    stripped = strip_code(sample)
    seen = {m.group(1) for m in CALL.finditer(stripped)}
    if "scan" not in seen or "delete_table" in seen or "query" in seen:
        failures.append(f"self-test: call extraction saw {sorted(seen)} in {sample!r}")
    return len(mutations) + 1, failures


# ---------------------------------------------------------------------------
def main() -> int:
    try:
        services: dict[str, tuple[str, dict[str, str]]] = {}
        for crate in direct_sdk_crates():
            services[crate.replace("-", "_")] = sdk_service(crate)
    except SetupError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    calls, problems = code_calls(services)
    if not calls:
        problems.append("no AWS SDK calls found in the code: the extraction is broken")
    template = load_template()
    problems += check_all(template, calls)
    n_self, self_failures = self_test(template, calls)
    problems += self_failures

    print("SDK calls in the code -> IAM actions:")
    for action in sorted(calls):
        print(f"  {action:45} {', '.join(sorted(set(calls[action])))}")
    print("granted for the platform:")
    for action, why in sorted(PLATFORM_ACTIONS.items()):
        print(f"  {action:45} {why}")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    print(f"least_privilege: {len(calls)} calls, {len(PLATFORM_ACTIONS)} platform actions, "
          f"{n_self - len(self_failures)}/{n_self} self-tests, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
