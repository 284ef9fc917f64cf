"""A fresh second factor bound to one operation of the shop's: approvals and their tokens.

A shop about to perform a sensitive operation for a customer (change an order's
amount, a payout account) asks for an approval of exactly that operation; the
customer enters the current code of their authenticator; the shop receives an
``approval_token`` that names the operation by its digest, as PSD2's dynamic
linking binds a payment to its amount and payee. The token is consumed once,
with the event that records the operation in the audit trail
(``POST /v1/audit/events``), so an approval for one operation never authorises
another, and no approval authorises two. ``shop_events`` records the shop's
own events into the trail: the event that consumes an approval, and any other.
"""
