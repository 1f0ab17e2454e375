"""Worlds behind one MineRL-shaped interface: Minetest (embedded) and MineRL 1.0 (real Minecraft)."""
