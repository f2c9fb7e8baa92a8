"""What every workflow shares: the task queue, the search attributes, the retry policies."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy, SearchAttributeKey

TASK_QUEUE = "edgeward"

# Every workflow run is findable in the Temporal UI by partner, customer, domain and step.
SA_PARTNER = SearchAttributeKey.for_keyword("EdgewardPartner")
SA_CUSTOMER = SearchAttributeKey.for_keyword("EdgewardCustomer")
SA_DOMAIN = SearchAttributeKey.for_keyword("EdgewardDomain")
SA_STEP = SearchAttributeKey.for_keyword("EdgewardStep")
SEARCH_ATTRIBUTES = (SA_PARTNER, SA_CUSTOMER, SA_DOMAIN, SA_STEP)

# Error types our activities raise for what retrying cannot fix (see activities.errors).
NON_RETRYABLE = ["InvalidInput", "PermanentError"]

# Database writes: quick, retried briefly and often.
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                       maximum_interval=timedelta(seconds=30),
                       non_retryable_error_types=NON_RETRYABLE)
# Outside systems (DNS, CA, edges): patient, since an outage delays work but must not lose it.
REMOTE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2.0,
                           maximum_interval=timedelta(minutes=5),
                           non_retryable_error_types=NON_RETRYABLE)

DB_TIMEOUT = timedelta(seconds=30)
