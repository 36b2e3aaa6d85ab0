//! Criterion benchmarks of the policy engine.
//!
//! * `evaluate/grregiondeny-chain/{us-east-2-denied,us-west-2-allowed}`: one
//!   `bedrock:InvokeModel` request on the us-east-2 Claude 3.5 Sonnet v2 foundation model against
//!   a 3-level chain (root, OU, account) with FullAWSAccess at every level and the verbatim
//!   Control Tower GRREGIONDENY (governed us-east-1, us-west-2) at the OU. us-east-2 is the deny
//!   case, us-west-2 the allow case. Throughput is reported in evaluations per second.
//! * `parse/grregiondeny`: `policy::parse` of the same GRREGIONDENY text.
//!
//! Run: `cargo bench --no-default-features --bench evaluation -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use cris_guard::evaluation::{self, Outcome};
use cris_guard::policy::{self, Policy};
use cris_guard::request::{Context, MissingKeys, Request};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const FULL_AWS_ACCESS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
}"#;

/// domain.md §4.1 verbatim, with the governed Regions us-east-1 and us-west-2 filled in.
const GRREGIONDENY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "GRREGIONDENY",
      "Effect": "Deny",
      "NotAction": [
        "a4b:*", "access-analyzer:*", "account:*", "acm:*", "activate:*", "artifact:*",
        "aws-marketplace-management:*", "aws-marketplace:*", "aws-portal:*", "billing:*",
        "billingconductor:*", "budgets:*", "ce:*", "chatbot:*", "chime:*", "cloudfront:*",
        "cloudtrail:LookupEvents", "compute-optimizer:*", "config:*", "consoleapp:*",
        "consolidatedbilling:*", "cur:*", "datapipeline:GetAccountLimits", "devicefarm:*",
        "directconnect:*", "ec2:DescribeRegions", "ec2:DescribeTransitGateways",
        "ec2:DescribeVpnGateways", "ecr-public:*", "fms:*", "freetier:*", "globalaccelerator:*",
        "health:*", "iam:*", "importexport:*", "invoicing:*", "iq:*", "kms:*",
        "license-manager:ListReceivedLicenses", "lightsail:Get*", "mobileanalytics:*",
        "networkmanager:*", "notifications-contacts:*", "notifications:*", "organizations:*",
        "payments:*", "pricing:*", "quicksight:DescribeAccountSubscription", "resource-explorer-2:*",
        "route53-recovery-cluster:*", "route53-recovery-control-config:*",
        "route53-recovery-readiness:*", "route53:*", "route53domains:*",
        "s3:CreateMultiRegionAccessPoint", "s3:DeleteMultiRegionAccessPoint",
        "s3:DescribeMultiRegionAccessPointOperation", "s3:GetAccountPublicAccessBlock",
        "s3:GetBucketLocation", "s3:GetBucketPolicyStatus", "s3:GetBucketPublicAccessBlock",
        "s3:GetMultiRegionAccessPoint", "s3:GetMultiRegionAccessPointPolicy",
        "s3:GetMultiRegionAccessPointPolicyStatus", "s3:GetStorageLensConfiguration",
        "s3:GetStorageLensDashboard", "s3:ListAllMyBuckets", "s3:ListMultiRegionAccessPoints",
        "s3:ListStorageLensConfigurations", "s3:PutAccountPublicAccessBlock",
        "s3:PutMultiRegionAccessPointPolicy", "savingsplans:*", "shield:*", "sso:*", "sts:*",
        "support:*", "supportapp:*", "supportplans:*", "sustainability:*", "tag:GetResources",
        "tax:*", "trustedadvisor:*", "vendor-insights:ListEntitledSecurityProfiles",
        "waf-regional:*", "waf:*", "wafv2:*"
      ],
      "Resource": "*",
      "Condition": {
        "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]},
        "ArnNotLike": {"aws:PrincipalARN": ["arn:aws:iam::*:role/AWSControlTowerExecution"]}
      }
    }
  ]
}"#;

const MODEL_ARN: &str =
    "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0";

/// Benchmarks cannot return errors; a broken fixture ends the run with a message.
fn parse_or_exit(id: &str, name: &str, text: &str) -> Policy {
    match policy::parse(id, name, text) {
        Ok(policy) => policy,
        Err(err) => {
            eprintln!("benchmark fixture {id} does not parse: {err}");
            std::process::exit(2);
        }
    }
}

fn invoke_in(region: &str) -> Request {
    let mut context = Context::new(MissingKeys::Absent);
    context.set("aws:RequestedRegion", vec![region.to_string()]);
    Request::new("bedrock:InvokeModel", MODEL_ARN, context)
}

fn bench_evaluate(c: &mut Criterion) {
    let policies = vec![
        parse_or_exit("p-FullAWSAccess", "FullAWSAccess", FULL_AWS_ACCESS),
        parse_or_exit("p-ctguard01", "aws-guardrails-GRREGIONDENY", GRREGIONDENY),
    ];
    // root → OU (FullAWSAccess + GRREGIONDENY) → account
    let levels = vec![vec![0], vec![0, 1], vec![0]];
    let mut group = c.benchmark_group("evaluate/grregiondeny-chain");
    group.throughput(Throughput::Elements(1));
    for (label, region, expected) in [
        ("us-east-2-denied", "us-east-2", Outcome::ExplicitlyDenied),
        ("us-west-2-allowed", "us-west-2", Outcome::Allowed),
    ] {
        let request = invoke_in(region);
        let outcome = evaluation::evaluate(&levels, &policies, &request).outcome;
        if outcome != expected {
            eprintln!("{label}: expected {expected:?}, got {outcome:?}");
            std::process::exit(2);
        }
        group.bench_function(label, |b| {
            b.iter(|| {
                evaluation::evaluate(
                    black_box(&levels),
                    black_box(&policies),
                    black_box(&request),
                )
            })
        });
    }
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(GRREGIONDENY.len() as u64));
    group.bench_function("grregiondeny", |b| {
        b.iter(|| policy::parse("p-ctguard01", "GRREGIONDENY", black_box(GRREGIONDENY)))
    });
    group.finish();
}

criterion_group!(benches, bench_evaluate, bench_parse);
criterion_main!(benches);
