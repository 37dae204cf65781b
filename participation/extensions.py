"""The Flask extensions, created once here and bound to the app in `create_app`."""
from flask_caching import Cache
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .i18n import LinliBabel


class Base(DeclarativeBase):
    # Stable constraint names, so migrations are the same on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = LinliBabel()
htmx = HTMX()
limiter = Limiter(key_func=get_remote_address)
# Figures every visitor sees but that change rarely; shared between workers through Redis when
# CACHE_REDIS_URL is set, else each worker keeps its own for CACHE_DEFAULT_TIMEOUT seconds.
cache = Cache()
