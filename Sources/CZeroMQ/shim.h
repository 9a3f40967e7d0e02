// ZeroMQ (libzmq3-dev): the transport between ntk-server and ntk-worker.
#include <zmq.h>
