"""cti: the Asterisk side of hotline.

Layer: protocol (sans-IO) -> translate -> calls (pure reducer) -> bus.
Must not import anything from agent_console, tickets or callqueue.
"""
