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


if __name__ == "__main__":
    sys.exit(main())
