// zlib's inflate, for reading gzip-compressed data files (zlib1g-dev).
#include <zlib.h>
