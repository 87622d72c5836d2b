"""Scale-out: several web instances and one bridge instance sharing one event bus over Redis.

Layer: I/O shells around pure pieces; imports cti, tickets.events and redis, never
the console's routes, hub or composition root (agent_console.app wires these).

The flow, by file: `link` keeps one Redis connection up (reconnect with backoff);
`codec` is the typed JSON for everything that crosses Redis; `relay` is the bridge
instance's side (events out, agent actions in); `remote` the web-only instance's
side (events in, agent actions out); `port` is the PBX as the routes see it,
whichever side holds the AMI link.
"""
