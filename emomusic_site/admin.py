"""What the site's model admins share."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


class RefusedDeletesAsMessages:
    """A ModelAdmin mixin: a delete its service refuses for now shows the refusal and keeps the page.

    The services refuse a delete they cannot finish (the photo storage down)
    with an exception whose message is the sentence to show; `delete_refusals`
    names those exceptions. Without this the admin answers them with a server
    error. One object: its confirmation page again, so that confirming again
    is the retry. Several: the list again, holding the ones not deleted.
    """

    delete_refusals: tuple[type[Exception], ...] = ()
    several_not_deleted = "The ones still listed were not deleted."

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except self.delete_refusals as refusal:
            self.message_user(request, str(refusal), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def response_action(self, request: HttpRequest, queryset) -> HttpResponse | None:
        try:
            return super().response_action(request, queryset)
        except self.delete_refusals as refusal:
            self.message_user(request, f"{refusal} {self.several_not_deleted}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
