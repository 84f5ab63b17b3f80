from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_creates_the_operator_once_and_prints_the_password_once():
    first = StringIO()
    call_command("mate", "ensure-operator", stdout=first)
    password = first.getvalue().split("password: ")[1].split()[0]
    user = get_user_model().objects.get(username="operator")
    assert user.check_password(password)
    second = StringIO()
    call_command("mate", "ensure-operator", stdout=second)
    assert "already exists" in second.getvalue()
    assert password not in second.getvalue()
