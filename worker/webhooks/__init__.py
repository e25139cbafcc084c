"""Webhooks: every event, signed, POSTed to each subscriber that asked for its type.

    config      the subscribers, read from the TOML file named by RESOLVER_WEBHOOKS_FILE
    signing     the signature headers, and `verify` for the receiving side
    schedule    the escalating retry schedule
    fanout      one delivery row per subscriber and matching event
    claims      due deliveries claimed with FOR UPDATE SKIP LOCKED and a lease
    delivery    one POST, its attempt record, and the next step of the schedule
    redelivery  a delivery started again by hand
    runner      one pass (fan out, claim, dispatch), as the beat task runs it
"""
