"""Send LLM interactions and feedback to feedbackloop.

from feedbackloop_client import Client

fb = Client("https://feedback.example.com", key="fl_...")
request_id = fb.log_interaction(model="gpt-x", messages=[...], response="...")
fb.log_feedback(request_id=request_id, kind="rating", value=1, scale="thumbs")
"""

from feedbackloop_client._core import Stats
from feedbackloop_client.aio import AsyncClient
from feedbackloop_client.client import Client
from feedbackloop_client.openai import chat_interaction

__all__ = ["AsyncClient", "Client", "Stats", "chat_interaction"]
__version__ = "0.1.0"
