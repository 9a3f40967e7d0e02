// ZeroMQ transport: see Transport.swift
