"""The serverless pipeline: a Step Functions definition and a CloudFormation stack around it.

Also what exports cost (pipeline and local runner) and the IAM policies a config needs.
"""
