"""What a server says of itself when it starts."""


def start_up_line(app, bind):
    """One line saying what this server is: where it listens, its upstreams (for the web chat its
    dialect and credential kinds), and where its docs and dashboard are."""
    settings = app.config["SETTINGS"]
    host, _, port = bind.rpartition(":")
    local = f"http://{'localhost' if host in ('0.0.0.0', '', '[::]') else host}:{port}"
    pages = f"docs {local}/docs" + (f", dashboard {local}/dashboard" if settings.dashboard_enabled else "")
    described = [describe(name, app.extensions["upstreams"][name], settings) for name in settings.upstream_names]
    return f"ZtoApi listening on http://{bind} · {' then '.join(described)} · {pages}"


def describe(name, upstream, settings):
    if name == "api":
        keys = len(settings.zai_api_keys)
        return f"upstream Z.ai's API at {settings.zai_api_base} with {keys} ZAI_API_KEY key{'s' if keys != 1 else ''}"
    status = upstream.status()
    tokens = len(upstream.pool.configured)
    kinds = [f"{tokens} ZAI_TOKEN token{'s' if tokens != 1 else ''}"] if tokens else []
    kinds += ["guests"] if settings.anon_token_enabled else []
    return (f"upstream chat.z.ai at {settings.upstream_origin}, {status['dialect']} dialect "
            f"({status['dialect_source']}) · credentials: {' and '.join(kinds) or 'none'}")
