"""The web studio: a page to watch runs train and try what they learned (``genforge studio``).

Server-rendered HTML (Jinja2, autoescaped) and one small vanilla-JS file, all inside the package: no
Node, no CDN, nothing fetched at run time. ``app.create_app(runs_dir, store=None)`` is the one entry
point; ``genforge studio`` serves it alone and ``genforge serve`` mounts it at ``/studio``.
"""
