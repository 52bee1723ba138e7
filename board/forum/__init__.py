"""Boards, threads, posts and their moderation."""
