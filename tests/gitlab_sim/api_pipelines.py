"""Pipelines, their jobs, and job logs (traces)."""

from __future__ import annotations

from collections.abc import Iterator

from . import errors
from .entities_work import job_entity, pipeline_basic, pipeline_entity
from .models import REPORTER
from .routing import Ctx, Response, Stream, route


def ci_project(ctx: Ctx):
    project = ctx.project()
    if project.visibility == "private" and ctx.state.access_level(ctx.user, project) < REPORTER:
        raise errors.forbidden()
    return project


def find_pipeline(ctx: Ctx, project):
    pipeline = ctx.state.pipelines.get(ctx.int_arg("pipeline_id") or 0)
    if pipeline is None or pipeline.project_id != project.id:
        raise errors.not_found()
    return pipeline


def find_job(ctx: Ctx, project):
    job = ctx.state.jobs.get(ctx.int_arg("job_id") or 0)
    if job is None or job.project_id != project.id:
        raise errors.not_found()
    return job


@route("GET", "/projects/:id/pipelines")
def list_pipelines(ctx: Ctx) -> Response:
    project = ci_project(ctx)
    pipelines = [p for p in ctx.state.pipelines.values() if p.project_id == project.id]
    for name in ("ref", "sha", "status", "source"):
        if ctx.arg(name):
            pipelines = [p for p in pipelines if getattr(p, name) == ctx.arg(name)]
    pipelines.sort(key=lambda p: p.id, reverse=ctx.arg("sort") != "asc")
    return ctx.paginate(pipelines, lambda p: pipeline_basic(ctx.sim, p))


@route("GET", "/projects/:id/pipelines/:pipeline_id")
def get_pipeline(ctx: Ctx) -> Response:
    project = ci_project(ctx)
    return Response(200, pipeline_entity(ctx.sim, find_pipeline(ctx, project)))


@route("GET", "/projects/:id/pipelines/:pipeline_id/jobs")
def pipeline_jobs(ctx: Ctx) -> Response:
    project = ci_project(ctx)
    jobs = list(find_pipeline(ctx, project).jobs)
    scopes = ctx.str_list("scope")
    if scopes:
        jobs = [j for j in jobs if j.status in scopes]
    jobs.sort(key=lambda j: -j.id)
    return ctx.paginate(jobs, lambda j: job_entity(ctx.sim, j))


@route("GET", "/projects/:id/jobs/:job_id")
def get_job(ctx: Ctx) -> Response:
    project = ci_project(ctx)
    return Response(200, job_entity(ctx.sim, find_job(ctx, project)))


@route("GET", "/projects/:id/jobs/:job_id/trace")
def job_trace(ctx: Ctx) -> Response:
    """The whole raw trace as text/plain. Large traces are streamed with chunked transfer
    encoding (no Content-Length), so a client learns the size only by reading to the end."""
    project = ci_project(ctx)
    job = find_job(ctx, project)
    headers = {"Content-Disposition": f'infile; filename="{job.id}.log"'}
    log = job.log
    if len(log) <= TRACE_STREAM_ABOVE:
        return Response(200, log.encode(), headers, content_type="text/plain")
    return Response(200, Stream(_trace_chunks(log)), headers, content_type="text/plain")


TRACE_STREAM_ABOVE = 1_048_576
TRACE_CHUNK = 65_536


def _trace_chunks(log: str) -> Iterator[bytes]:
    for start in range(0, len(log), TRACE_CHUNK):
        yield log[start : start + TRACE_CHUNK].encode()
