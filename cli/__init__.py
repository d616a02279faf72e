from . import axivox_listen
