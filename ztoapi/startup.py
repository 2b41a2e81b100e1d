"""What a server says of itself when it starts."""


def start_up_line(app, bind):
    """One line saying what this server is: where it listens, its upstream and dialect, its
    credential kinds, and where its docs and dashboard are."""
    settings = app.config["SETTINGS"]
    web = app.extensions["zai"]
    status = web.status()
    tokens = len(web.pool.configured)
    kinds = [f"{tokens} ZAI_TOKEN token{'s' if tokens != 1 else ''}"] if tokens else []
    kinds += ["guests"] if settings.anon_token_enabled else []
    host, _, port = bind.rpartition(":")
    local = f"http://{'localhost' if host in ('0.0.0.0', '', '[::]') else host}:{port}"
    pages = f"docs {local}/docs" + (f", dashboard {local}/dashboard" if settings.dashboard_enabled else "")
    return (f"ZtoApi listening on http://{bind} · upstream chat.z.ai at {settings.upstream_origin}, "
            f"{status['dialect']} dialect ({status['dialect_source']}) · credentials: "
            f"{' and '.join(kinds) or 'none'} · {pages}")
