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

HOLIDAYS = """\
holidays:
  DE:
    2026-04-03: Good Friday
    2026-04-06: Easter Monday
  CN:
    2026-10-01: National Day
working_weekend_days:
  CN:
    2026-10-10: worked for the National Day holiday
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

PROCESSING = """\
controller:
  name: Sample Shop
  address: 1 Sample Street, Berlin
  email: privacy@sample.example
purposes:
  - code: selling
    description: Selling goods.
    legal_basis: {code: contract, text: the contract of sale}
    categories: [orders, invoices]
    data_subjects: [customers]
  - code: compliance
    description: Books and fraud checks.
    legal_basis: {code: legal_obligation, text: tax law}
    categories: [invoices, fraud_checks, tax_records]
    data_subjects: [customers]
categories:
  - code: orders
    description: What was ordered.
    source: subject
    provided_by_subject: true
    retention: {period: 3 years}
  - code: invoices
    description: Invoices issued.
    source: the shop
    provided_by_subject: false
    retention: {criteria: as tax law requires}
  - code: fraud_checks
    description: Results of fraud checks.
    source: the payment provider
    provided_by_subject: false
    retention: {period: 1 year, criteria: after the order}
  - code: tax_records
    description: Tax records.
    source: the shop
    provided_by_subject: false
    retention: {criteria: as tax law requires}
recipients:
  - name: orders
    role: processor
    categories: [orders, invoices]
    country: DE
  - name: warehouse-cn
    description: A fulfilment partner in China.
    role: processor
    categories: [orders]
    country: CN
    transfer: [sccs, pipl_standard_contract]
automated_decisions: []
transfers:
  eea: [DE, FR, "NO"]
  adequacy:
    - {country: CH, name: Switzerland, decision: 2000/518/EC}
    - {country: US, name: United States, decision: (EU) 2023/1795, scope: DPF-certified organisations}
"""

REMEDIES = """\
remedies:
  eu_gdpr:
    rights:
      - {right: access, name: Right of access, provision: GDPR Art. 15}
      - {right: erasure, name: Right to erasure, provision: GDPR Art. 17}
    authorities:
      - {name: Lead Authority, address: 1 Authority Street, url: "https://dpa.example"}
    complaint: GDPR Art. 77
    courts: GDPR Art. 79
  us_ca_ccpa:
    rights:
      - {right: access, name: Right to know, provision: "§1798.110"}
    authorities:
      - {name: CPPA, address: Sacramento, url: "https://cppa.example"}
      - {name: Attorney General, address: Sacramento, url: "https://oag.example"}
    complaint: to the agency
    courts: breaches only
  us_federal:
    rights:
      - {right: access, name: Access, provision: none}
    authorities:
      - {name: FTC, address: Washington, url: "https://ftc.example"}
    complaint: to the FTC
    courts: none
  default:
    rights:
      - {right: access, name: Right of access, provision: the shop's standard}
    authorities:
      - {name: Lead Authority, address: 1 Authority Street, url: "https://dpa.example"}
    complaint: where you live
    courts: where you live
"""

ENVIRON = {"ORDERS_WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILER_WEBHOOK_SECRET": WEBHOOK_SECRET}

PolicyDir = Callable[..., Path]
