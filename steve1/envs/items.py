"""Minetest item names translated to MineRL's, so the paper's programmatic metrics read the same
in both worlds.

Minetest Game's five trees map to the Minecraft logs they look like; unknown Minetest names are kept as they
are (they contain a ':' and so never collide with a MineRL name).
"""
from __future__ import annotations

MINETEST_TO_MINERL = {
    # the paper's metrics: logs, dirt, seeds
    "default:tree": "oak_log",
    "default:pine_tree": "spruce_log",
    "default:aspen_tree": "birch_log",
    "default:jungletree": "jungle_log",
    "default:acacia_tree": "acacia_log",
    "default:dirt": "dirt",
    "farming:seed_wheat": "wheat_seeds",
    # other common blocks and items
    "default:dirt_with_grass": "grass_block",
    "default:wood": "oak_planks",
    "default:pine_wood": "spruce_planks",
    "default:aspen_wood": "birch_planks",
    "default:junglewood": "jungle_planks",
    "default:acacia_wood": "acacia_planks",
    "default:leaves": "oak_leaves",
    "default:pine_needles": "spruce_leaves",
    "default:aspen_leaves": "birch_leaves",
    "default:jungleleaves": "jungle_leaves",
    "default:acacia_leaves": "acacia_leaves",
    "default:sapling": "oak_sapling",
    "default:pine_sapling": "spruce_sapling",
    "default:aspen_sapling": "birch_sapling",
    "default:junglesapling": "jungle_sapling",
    "default:acacia_sapling": "acacia_sapling",
    "default:stick": "stick",
    "default:stone": "stone",
    "default:cobble": "cobblestone",
    "default:mossycobble": "mossy_cobblestone",
    "default:sand": "sand",
    "default:desert_sand": "red_sand",
    "default:gravel": "gravel",
    "default:clay": "clay",
    "default:clay_lump": "clay_ball",
    "default:snow": "snowball",
    "default:snowblock": "snow_block",
    "default:ice": "ice",
    "default:cactus": "cactus",
    "default:papyrus": "sugar_cane",
    "default:apple": "apple",
    "default:flint": "flint",
    "default:coal_lump": "coal",
    "default:iron_lump": "raw_iron",
    "default:gold_lump": "raw_gold",
    "default:copper_lump": "raw_copper",
    "default:diamond": "diamond",
    "default:steel_ingot": "iron_ingot",
    "default:gold_ingot": "gold_ingot",
    "default:torch": "torch",
    "default:chest": "chest",
    "default:furnace": "furnace",
    "default:ladder_wood": "ladder",
    "default:fence_wood": "oak_fence",
    "default:pick_wood": "wooden_pickaxe",
    "default:pick_stone": "stone_pickaxe",
    "default:pick_steel": "iron_pickaxe",
    "default:pick_diamond": "diamond_pickaxe",
    "default:axe_wood": "wooden_axe",
    "default:axe_stone": "stone_axe",
    "default:axe_steel": "iron_axe",
    "default:shovel_wood": "wooden_shovel",
    "default:shovel_stone": "stone_shovel",
    "default:shovel_steel": "iron_shovel",
    "default:sword_wood": "wooden_sword",
    "default:sword_stone": "stone_sword",
    "default:sword_steel": "iron_sword",
    "farming:wheat": "wheat",
    "farming:bread": "bread",
    "farming:hoe_wood": "wooden_hoe",
    "farming:hoe_stone": "stone_hoe",
    "bucket:bucket_empty": "bucket",
    "bucket:bucket_water": "water_bucket",
    "flowers:dandelion_yellow": "dandelion",
    "flowers:rose": "poppy",
}

# Always present in an observation (0 when absent): what the paper's metrics count.
LOG_ITEMS = ("oak_log", "spruce_log", "birch_log", "jungle_log", "acacia_log", "dark_oak_log")
TRACKED_ITEMS = (*LOG_ITEMS, "dirt", "wheat_seeds")


def to_minerl_inventory(minetest_counts: dict[str, int]) -> dict[str, int]:
    """{minetest item name: count} -> {MineRL item name: count}, with TRACKED_ITEMS always present."""
    inventory = dict.fromkeys(TRACKED_ITEMS, 0)
    for name, count in minetest_counts.items():
        if count <= 0 or name in ("", "_", "air"):
            continue
        minerl = MINETEST_TO_MINERL.get(name, name)
        inventory[minerl] = inventory.get(minerl, 0) + int(count)
    return inventory
