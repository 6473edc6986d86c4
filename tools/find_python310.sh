#!/usr/bin/env sh
# Print the path of a working Python 3.10 interpreter (Rasa 3.6 runs only on 3.10), or explain what to install.
# Order: $PYTHON310, a working `python3.10` on PATH, pyenv's 3.10.x, the usual system paths.
is310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }
for cand in "${PYTHON310:-}" "$(command -v python3.10 2>/dev/null)"; do
  if is310 "$cand"; then echo "$cand"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for cand in "$(pyenv root)"/versions/3.10*/bin/python3.10; do
    if is310 "$cand"; then echo "$cand"; exit 0; fi
  done
fi
for cand in /usr/bin/python3.10 /usr/local/bin/python3.10 /opt/homebrew/bin/python3.10; do
  if is310 "$cand"; then echo "$cand"; exit 0; fi
done
cat >&2 <<'MSG'
No Python 3.10 found. Rasa 3.6 needs exactly Python 3.10. Install one, for example:
  pyenv install 3.10.13            (pyenv; then `make` finds it by itself)
  apt-get install python3.10 python3.10-venv   (Debian/Ubuntu with a 3.10 package)
or point the Makefile at it: make PYTHON310=/path/to/python3.10 ...
MSG
exit 1
