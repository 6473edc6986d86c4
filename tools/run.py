"""``make run``: start the action server, Rasa and the web app on loopback; Ctrl-C stops them all.

Standard library only. Ports and the model can be set by environment variables (see README).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import stack  # noqa: E402


def active_model(models_dir: Path = stack.ROOT / "models") -> Path | None:
    """The model activated in the operator console (/ops/models writes its file name to models/active.txt)."""
    try:
        name = (models_dir / "active.txt").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    path = models_dir / name
    return path if name and "/" not in name and path.is_file() else None


def main() -> int:
    secrets_env = stack.load_secrets()
    log_dir = stack.ROOT / "var" / "log"
    model = Path(os.environ["KRISENLOTSE_MODEL"]) if os.environ.get("KRISENLOTSE_MODEL") else \
        active_model() or stack.latest_model()
    if model is None:
        print("Kein trainiertes Modell gefunden: bitte `make train` ausführen.", file=sys.stderr)
        return 2
    web_port = int(os.environ.get("KRISENLOTSE_PORT", "8080"))
    rasa_port = 5005
    if os.environ.get("KRISENLOTSE_PROFILE", "embedded").strip().lower() == "production":
        return run_production(secrets_env, model, log_dir, web_port, rasa_port)
    env_tokens = {k: secrets_env[k] for k in ("KRISENLOTSE_ACTIONS_TOKEN", "KRISENLOTSE_RASA_TOKEN")}

    actions = stack.actions_service(5055, secrets_env["KRISENLOTSE_ACTIONS_TOKEN"], log_dir,
                                    internal_token=secrets_env["KRISENLOTSE_INTERNAL_TOKEN"],
                                    web_internal_url=f"http://127.0.0.1:{web_port}",
                                    outbox_db=stack.ROOT / "var" / "outbox.db")
    rasa = stack.rasa_service(rasa_port, secrets_env["KRISENLOTSE_RASA_TOKEN"], model,
                              stack.ROOT / "endpoints.yml", log_dir, extra_env=env_tokens)
    services = [actions, rasa]
    web = None
    if (stack.ROOT / "bot" / "__main__.py").exists():
        web = stack.web_service(web_port, {
            "KRISENLOTSE_HOST": os.environ.get("KRISENLOTSE_HOST", "127.0.0.1"),
            "KRISENLOTSE_PORT": str(web_port),
            "KRISENLOTSE_RASA_URL": f"http://127.0.0.1:{rasa_port}",
            "KRISENLOTSE_ACTIONS_URL": "http://127.0.0.1:5055",
            "KRISENLOTSE_RASA_TRACKER_DB": os.environ.get("KRISENLOTSE_RASA_TRACKER_DB",
                                                          "sqlite:///var/rasa-tracker.db"),
            **secrets_env,
        }, log_dir)
        services.append(web)

    print(f"Modell: {model.name}. Logs: {log_dir}/")
    for svc in services:
        print(f"Starte {svc.name} …")
        svc.start()
    try:
        actions.wait_ready(120)
        print("  Action-Server bereit: http://127.0.0.1:5055 (nur intern, Token)")
        rasa.wait_ready(300, stack.model_loaded)
        print(f"  Rasa bereit: http://127.0.0.1:{rasa_port} (nur intern, Token)")
        if web:
            web.wait_ready(120)
    except stack.StackError as exc:
        print(f"Start fehlgeschlagen: {exc}", file=sys.stderr)
        for svc in reversed(services):
            svc.stop()
        return 1
    print()
    if web:
        print(f"Krisenlotse läuft: http://127.0.0.1:{web_port}/  (Demo-Seite mit Chat-Widget)")
    else:
        print(f"Krisenlotse läuft. Sprechen Sie mit dem Bot über Rasas REST-Kanal:\n"
              f"  curl -s -XPOST http://127.0.0.1:{rasa_port}/webhooks/rest/webhook "
              "-H 'Content-Type: application/json' -d '{\"sender\":\"demo\",\"message\":\"Was ist Kurzarbeit?\"}'")
    print("Beenden mit Strg-C.")
    return stack.main_wait_forever(services)


def run_production(secrets_env: dict[str, str], model: Path, log_dir: Path, web_port: int, rasa_port: int) -> int:
    """KRISENLOTSE_PROFILE=production: PostgreSQL and Redis (loopback by default, docs/production.md), one Rasa
    server with SANIC_WORKERS workers and the Redis lock store, KRISENLOTSE_WEB_INSTANCES web-app processes
    on consecutive ports from KRISENLOTSE_PORT; nginx (deploy/nginx/krisenlotse.conf) goes in front."""
    prod = stack.Production.from_env()
    workers = os.environ.get("SANIC_WORKERS", "2")
    instances = int(os.environ.get("KRISENLOTSE_WEB_INSTANCES", "2"))
    try:
        created = prod.ensure_databases()
    except stack.StackError as exc:
        print(f"Produktionsprofil: {exc}\nPostgreSQL starten (siehe docs/production.md) oder "
              "KRISENLOTSE_PG_HOST/…_PORT/…_USER/…_PASSWORD setzen.", file=sys.stderr)
        return 2
    for name in created:
        print(f"Datenbank {name} angelegt.")
    actions = stack.actions_service(5055, secrets_env["KRISENLOTSE_ACTIONS_TOKEN"], log_dir,
                                    internal_token=secrets_env["KRISENLOTSE_INTERNAL_TOKEN"],
                                    web_internal_url=f"http://127.0.0.1:{web_port}",
                                    outbox_db=stack.ROOT / "var" / "outbox.db")
    rasa = stack.rasa_service(rasa_port, secrets_env["KRISENLOTSE_RASA_TOKEN"], model, stack.PRODUCTION_ENDPOINTS,
                              log_dir, extra_env={**prod.rasa_env(5055), "SANIC_WORKERS": workers,
                                                  "KRISENLOTSE_ACTIONS_TOKEN": secrets_env["KRISENLOTSE_ACTIONS_TOKEN"]})
    webs = [stack.web_service(web_port + i, {
        **prod.web_env(),
        "KRISENLOTSE_HOST": os.environ.get("KRISENLOTSE_HOST", "127.0.0.1"),
        "KRISENLOTSE_PORT": str(web_port + i),
        "KRISENLOTSE_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "KRISENLOTSE_ACTIONS_URL": "http://127.0.0.1:5055",
        "KRISENLOTSE_TRUST_PROXY": os.environ.get("KRISENLOTSE_TRUST_PROXY", "1"),
        **secrets_env,
    }, log_dir, log_name=f"web-{web_port + i}.log", name=f"web app :{web_port + i}") for i in range(instances)]
    services = [actions, rasa, *webs]
    print(f"Produktionsprofil: Modell {model.name}, PostgreSQL {prod.pg_host}:{prod.pg_port} "
          f"({prod.web_db}, {prod.rasa_db}), Redis {prod.redis_host}:{prod.redis_port}/{prod.redis_db}, "
          f"{workers} Rasa-Worker, {instances} Web-Instanzen. Logs: {log_dir}/")
    actions.start()
    rasa.start()
    try:
        # One instance migrates first (the others would wait on the advisory lock anyway).
        webs[0].start()
        webs[0].wait_ready(120)
        for web in webs[1:]:
            web.start()
        for web in webs[1:]:
            web.wait_ready(120)
        actions.wait_ready(120)
        rasa.wait_ready(600, stack.model_loaded)
    except stack.StackError as exc:
        print(f"Start fehlgeschlagen: {exc}", file=sys.stderr)
        for svc in reversed(services):
            svc.stop()
        return 1
    upstream = "\n".join(f"        server 127.0.0.1:{web_port + i};" for i in range(instances))
    print(f"\nKrisenlotse läuft auf {instances} Web-Instanzen: "
          + ", ".join(f"http://127.0.0.1:{web_port + i}/" for i in range(instances)))
    print("Davor gehört nginx (eine Adresse, Lastverteilung, WebSockets): deploy/nginx/krisenlotse.conf mit\n"
          f"    upstream krisenlotse_web {{\n        ip_hash;\n{upstream}\n    }}\n"
          "nach /etc/nginx/conf.d/ kopieren, `nginx -t && nginx -s reload` (Anleitung: docs/production.md).")
    print("Beenden mit Strg-C.")
    return stack.main_wait_forever(services)


if __name__ == "__main__":
    sys.exit(main())
