"""Policy files for the tests: small, valid, and easy to break in one place."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

WEBHOOK_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()

JURISDICTIONS = """\
jurisdictions:
  - code: eu_gdpr
    name: EU/EEA — GDPR
    law: GDPR Art. 12(3)
    countries: [DE, FR, "NO"]
    deadline: 1 month
    extension: 2 months
    approval: [erasure]
  - code: us_ca_ccpa
    name: California — CCPA
    law: Cal. Civ. Code §1798.130
    countries: [US-CA]
    deadline: 45 days
    extension: 45 days
  - code: us_federal
    name: United States
    law: none
    countries: [US]
    deadline: 30 days
default:
  code: default
  name: Default
  law: conservative default
  deadline: 30 days
"""

RETENTION = """\
retention:
  - category: invoices
    countries: [DE]
    keep_for: 8 years
    legal_basis: HGB §257
  - category: fraud_checks
    keep_for: 1 year
    legal_basis: everywhere
  - category: tax_records
    countries: [US]
    keep_for: 7 years
    legal_basis: federal
"""

SYSTEMS = """\
systems:
  - name: orders
    url: https://orders.shop.internal/privacy
    secret_env: ORDERS_WEBHOOK_SECRET
    request_types: [access, erasure]
    categories: [orders, invoices]
  - name: mailer
    url: http://mailer:8080/notices
    secret_env: MAILER_WEBHOOK_SECRET
    request_types: [notice]
    timeout_seconds: 3
"""

ENVIRON = {"ORDERS_WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILER_WEBHOOK_SECRET": WEBHOOK_SECRET}

PolicyDir = Callable[..., Path]
