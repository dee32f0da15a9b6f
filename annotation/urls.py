from __future__ import annotations

from django.urls import path

from annotation.views.adjudication import adjudicate, adjudication_list
from annotation.views.agreement import agreement_page
from annotation.views.home import home
from annotation.views.workspace import (
    annotation_edit,
    item_skip,
    item_submit,
    my_annotations,
    queue_work,
)

urlpatterns = [
    path("", home, name="home"),
    path("queues/<int:queue_id>/work", queue_work, name="queue-work"),
    path("queues/<int:queue_id>/items/<int:item_id>/submit", item_submit, name="item-submit"),
    path("queues/<int:queue_id>/items/<int:item_id>/skip", item_skip, name="item-skip"),
    path("queues/<int:queue_id>/mine", my_annotations, name="my-annotations"),
    path("annotations/<int:annotation_id>/edit", annotation_edit, name="annotation-edit"),
    path("lead/queues/<int:queue_id>/agreement", agreement_page, name="lead-agreement"),
    path("lead/queues/<int:queue_id>/adjudication", adjudication_list, name="lead-adjudication"),
    path(
        "lead/queues/<int:queue_id>/items/<int:item_id>/adjudicate",
        adjudicate,
        name="lead-adjudicate",
    ),
]
