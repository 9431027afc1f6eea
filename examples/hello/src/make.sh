#!/bin/sh
# Writes its first argument: what the image will greet with.
echo "$1"
