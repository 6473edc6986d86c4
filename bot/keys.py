"""Typed application keys (``app[CONFIG]`` is a Settings, and so on).

Only the wiring modules (app, views, channels) import this; the modules whose types it names do not.
"""

from __future__ import annotations

import aiohttp
import jinja2
import socketio
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.auth import Accounts
from bot.cases import CaseStore
from bot.gateway import Gateway
from bot.live import Presence
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from bot.store import Store

CONFIG = web.AppKey("config", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
STORE = web.AppKey("store", Store)
RASA_SESSION = web.AppKey("rasa_session", aiohttp.ClientSession)
GATEWAY = web.AppKey("gateway", Gateway)
LIMITER = web.AppKey("limiter", RateLimiter)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
SIO = web.AppKey("sio", socketio.AsyncServer)
ACCOUNTS = web.AppKey("accounts", Accounts)
CASES = web.AppKey("cases", CaseStore)
PRESENCE = web.AppKey("presence", Presence)
UNITS = web.AppKey("units", frozenset)
UNIT_NAMES = web.AppKey("unit_names", dict)
