"""Calls the project makes to the outside world (webhooks, triggers), made safe.

``targets`` decides which URLs and addresses may be called, ``client`` sends a POST to the
address it checked (never resolving the name a second time), ``signing`` signs bodies for
receivers, and ``sealing`` keeps signing secrets readable to the server only. Nothing here
touches the database: the services around it record what happened.
"""
