"""Console URLs of the jobs app; mounted in the ``console`` namespace by mate/urls.py.

The webhook lives in jobs/urls.py.
"""

from django.urls import path

from jobs.views import deliveries, jobs, timeline

T = "t/<uuid:tenant>/"

urlpatterns = [
    path(T + "jobs/", jobs.job_list, name="jobs"),
    path(T + "jobs/rows", jobs.job_rows, name="job_rows"),
    path(T + "jobs/<uuid:job>/", jobs.job_detail, name="job"),
    path(T + "jobs/<uuid:job>/events", timeline.job_events, name="job_events"),
    path(T + "jobs/<uuid:job>/cancel", jobs.job_cancel, name="job_cancel"),
    path(T + "deliveries/", deliveries.delivery_list, name="deliveries"),
    path(T + "deliveries/<uuid:delivery>/", deliveries.delivery_detail, name="delivery"),
    path(
        T + "deliveries/<uuid:delivery>/explain",
        deliveries.delivery_explain,
        name="delivery_explain",
    ),
]
