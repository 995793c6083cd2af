"""The serverless pipeline: a Step Functions definition and a CloudFormation stack around it."""
