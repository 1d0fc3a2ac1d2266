"""Alert push (告警推送): new alerts to WeCom and DingTalk group robots, mail and webhooks.

- ``routes``: which channels an alert is owed to (``[[push.route]]``), and the hook that owes them
  in the transaction that inserts the alert (the warning engine).
- ``messages``: the words people read (Simplified Chinese), digests of several alerts, byte limits.
- ``channels``: the senders, one per channel kind (HTTP for robots and webhooks, SMTP for mail).
- ``dispatcher``: one pass: owe alerts other systems wrote, escalate, send what is due.
- ``duty``: the dispatcher as ``gridwall worker``'s ``push`` duty, and ``gridwall push test``.

All state is in the database (``data_access.push``): a dispatcher that restarts, or another
worker's that takes over, carries on where the last one stopped.
"""
