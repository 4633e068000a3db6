# The native TCP relay (relay.c), Linux only: `make native` builds build/Release/splice_relay.node
# against the headers of the Node that runs it (Node-API, so one build serves later Nodes too).
{
  "targets": [
    {
      "target_name": "splice_relay",
      "sources": ["relay.c"],
      "cflags_c": ["-O2", "-std=gnu11", "-Wall", "-Wextra"],
      "conditions": [["OS!='linux'", {"type": "none", "sources": []}]]
    }
  ]
}
