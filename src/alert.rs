//! Alerts: what changed between two reports, and the SNS message (contract §5) that says so.
