"""Typed search attributes: what Temporal's own tools can filter requests by.

No personal data here: status, post and the next deadline only.
"""

from temporalio.common import SearchAttributeKey

REQUEST_STATUS = SearchAttributeKey.for_keyword("RescheduleStatus")
REQUEST_POST = SearchAttributeKey.for_keyword("ReschedulePost")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("RescheduleNextDeadline")

ALL = (REQUEST_STATUS, REQUEST_POST, NEXT_DEADLINE)
