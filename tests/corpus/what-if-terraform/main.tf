# The configuration behind fix-sandbox-and-deny-us-east-2-for-security.plan.json (the plan JSON
# carries no file positions; `cris-guard evaluate --what-if PLAN --format sarif` finds the
# policies here, next to the plan, to point code scanning at the statement).

resource "aws_organizations_policy" "region_deny" {
  name    = "aws-guardrails-AbCdEf"
  content = file("${path.module}/policies/region-deny.json")
}

resource "aws_organizations_policy" "no_east2" {
  name = "deny-bedrock-us-east-2"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "NoBedrockInUsEast2"
      Effect    = "Deny"
      Action    = "bedrock:*"
      Resource  = "*"
      Condition = { StringEquals = { "aws:RequestedRegion" = "us-east-2" } }
    }]
  })
}

resource "aws_organizations_policy_attachment" "no_east2_security" {
  policy_id = aws_organizations_policy.no_east2.id
  target_id = "ou-ab12-22222222"
}

resource "aws_organizations_policy" "tags" {
  name    = "tags"
  type    = "TAG_POLICY"
  content = jsonencode({ tags = {} })
}

resource "aws_organizations_policy_attachment" "tags_root" {
  policy_id = aws_organizations_policy.tags.id
  target_id = "r-ab12"
}
