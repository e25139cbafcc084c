"""The admin console: what is stuck, why and for how long, and the hand that settles it.

One set of queries (`queries`) and one set of actions (`actions`) serve the command line, the
HTTP API (`api`) and the web page (`web`), so all three always agree.
"""
