"""Every password check Django makes (site log-in, admin log-in, the API token) feeds the growing log-in delay.

Django's authenticate() sends user_login_failed with the request for any
login view, the admin's included, so no view can forget to count a failure.
"""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts import services
from emomusic_site.ratelimit import client_address


@receiver(user_login_failed, dispatch_uid="accounts-login-failed")
def _count_failure(sender, credentials: dict, request=None, **kwargs) -> None:
    if request is None:
        return
    services.login_failure_record(username=str(credentials.get("username") or ""), address=client_address(request))


@receiver(user_logged_in, dispatch_uid="accounts-logged-in")
def _forget_failures(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    services.login_success_record(username=user.get_username(), address=client_address(request))
