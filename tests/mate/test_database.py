import os

import pytest
from django.db import connection


@pytest.mark.django_db
def test_suite_runs_on_the_database_ci_asked_for():
    """CI exports MATE_EXPECT_DB_VENDOR=postgresql so a silent fallback to SQLite fails the run."""
    expected = os.environ.get("MATE_EXPECT_DB_VENDOR")
    if not expected:
        pytest.skip("MATE_EXPECT_DB_VENDOR not set (only CI pins the database vendor)")
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
