# gunicorn reads this file from the working directory: Mate's access log names routes, not
# raw paths (mate/accesslog.py).
logger_class = "mate.accesslog.RouteAccessLogger"
