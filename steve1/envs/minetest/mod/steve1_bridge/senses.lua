-- steve1_bridge senses: privileged facts about the player's surroundings for scripted skill agents.
-- The bridge calls senses.collect(player) at 20 Hz and writes the table as state.senses.
--
-- Coordinates are Minetest's: x east, y up, z north (left-handed). Every `rel` is a node's centre minus the
-- player's eye position ({dx, dy, dz}, in nodes); `pos` is a node position (integers). `eye` is the absolute
-- eye position. Nearest-node searches (the nearest by Euclidean distance from the eye in a box around it,
-- loaded map only; see KINDS for the box sizes) run every SEARCH_EVERY calls per kind (RESEARCH_EVERY while
-- none is known), staggered; in between the cached node is re-checked (one get_node) and its `rel`
-- recomputed from the current eye, so a dug node disappears at once. A new search result replaces the
-- cached node only when it is STICKY nodes nearer, so that a target does not flip between equals.
--
-- Fields (a missing one means "none found"):
--   eye = {x, y, z}; feet = {x, y, z} (the player's position)
--   tree / dirt / grass / water = {pos = {x, y, z}, rel = {dx, dy, dz}, name = node name}
--       tree: group:tree, the lowest trunk node of the column found; dirt: default:dirt*; grass:
--       default:grass_1..5 (drop farming:seed_wheat with rarity 5); water: group:water
--   tree_near / dirt_near / grass_near / water_near = list of up to NEAR_COUNT {pos, rel}, nearest first
--       as of the last search (may include dug nodes until the next search)
--   pointed = {name, pos, rel, above = {x, y, z}, dist}: the first pointable node along the look direction
--       within POINT_RANGE (what attack digs; `above` is where use would place a node)
--   in_water: feet or head in a group:water node
--   ground_y: y of the top of the highest walkable node at or below the feet, taken as a full cube (nil if
--       none within GROUND_DEPTH); height_above_ground = feet.y - ground_y (slightly negative on slabs and
--       snow); vy: vertical velocity (nodes/s); on_ground: height_above_ground < 0.3 and |vy| < 0.05
--   headroom: free (non-walkable) nodes right above the head, counted up to HEADROOM
--   front = {foot = name, head = name, above_head = name, drop = n}: nodes one step ahead (look yaw) at
--       feet level, head level and above head, for step/obstacle detection; drop: free nodes below the step
--       ahead before ground or water (0: level ground; MAX_DROP: as deep or deeper, e.g. a cliff)
--   us: microseconds this call took (wall time, in the server thread)
--   wield = item name in hand ("" if empty); hotbar = {names of slots 1..9, "" for empty}

local senses = {}

local SEARCH_EVERY = 10  -- calls between searches for one kind (0.5 s at 20 Hz)
local RESEARCH_EVERY = 3  -- calls between searches for one kind while none is known (its node dug)
local STICKY = 1.5  -- nodes: a new search result must be this much nearer to replace the cached node
local NEAR_COUNT = 6  -- candidates reported per kind (a skill may skip one it could not reach)
local POINT_RANGE = 5.0  -- nodes; Minetest Game's hand reaches 4
local GROUND_DEPTH = 16  -- nodes below the feet searched for ground
local MAX_DROP = 5  -- nodes below the step ahead checked for a drop
local HEADROOM = 8  -- nodes above the head checked for headroom
local HOTBAR = 9  -- the bridge shows MineRL's 9 hotbar slots
local KINDS = {
	{key = "tree", radius = 32, dy = 16, nodes = {"group:tree"}},
	{key = "dirt", radius = 6, nodes = {"default:dirt", "default:dirt_with_grass",
		"default:dirt_with_dry_grass", "default:dirt_with_snow", "default:dirt_with_rainforest_litter",
		"default:dirt_with_coniferous_litter"}},
	{key = "grass", radius = 16, nodes = {"default:grass_1", "default:grass_2", "default:grass_3",
		"default:grass_4", "default:grass_5"}},
	{key = "water", radius = 32, dy = 24, nodes = {"group:water"}},
}

local calls = 0
local found = {}  -- key -> {pos = node position, name = node name}
local last_search = {}  -- key -> call number of its last search
local near_found = {}  -- key -> list of node positions, nearest first (as of the last search)

local function is_kind(name, kind)
	for _, want in ipairs(kind.nodes) do
		if want == name then
			return true
		end
		local group = want:match("^group:(.+)$")
		if group and minetest.get_item_group(name, group) > 0 then
			return true
		end
	end
	return false
end

local function lowest_of_column(pos, kind)
	local p = {x = pos.x, y = pos.y, z = pos.z}
	for _ = 1, 16 do
		local below = {x = p.x, y = p.y - 1, z = p.z}
		if not is_kind(minetest.get_node(below).name, kind) then
			break
		end
		p = below
	end
	return p
end

-- The NEAR_COUNT nodes of `kind` nearest to the eye (Euclidean), nearest first, within its radius (a cube;
-- y limited to kind.dy when given); an empty list if none. find_nodes_in_area runs in C++ over the loaded
-- map; only the matches come to Lua.
local function nearest_nodes(eye, kind)
	local dy = kind.dy or kind.radius
	local c = vector.round(eye)
	local p1 = {x = c.x - kind.radius, y = c.y - dy, z = c.z - kind.radius}
	local p2 = {x = c.x + kind.radius, y = c.y + dy, z = c.z + kind.radius}
	local best = {}  -- {d2, pos}, sorted, at most NEAR_COUNT
	for _, p in ipairs(minetest.find_nodes_in_area(p1, p2, kind.nodes)) do
		local d2 = (p.x - eye.x) ^ 2 + (p.y - eye.y) ^ 2 + (p.z - eye.z) ^ 2
		if #best < NEAR_COUNT or d2 < best[#best][1] then
			local i = #best + 1
			while i > 1 and best[i - 1][1] > d2 do
				best[i] = best[i - 1]
				i = i - 1
			end
			best[i] = {d2, p}
			best[NEAR_COUNT + 1] = nil
		end
	end
	local out = {}
	for i, entry in ipairs(best) do
		out[i] = entry[2]
	end
	return out
end

local function vec(p)
	return {x = p.x, y = p.y, z = p.z}
end

local function rel_to(pos, eye)
	return {pos.x - eye.x, pos.y - eye.y, pos.z - eye.z}
end

local function is_walkable(name)
	local def = minetest.registered_nodes[name]
	return def ~= nil and def.walkable ~= false
end

local function pointed_node(player, eye)
	local dir = player:get_look_dir()
	local ray = minetest.raycast(eye, vector.add(eye, vector.multiply(dir, POINT_RANGE)), false, false)
	for hit in ray do
		if hit.type == "node" then
			local name = minetest.get_node(hit.under).name
			local def = minetest.registered_nodes[name]
			if def == nil or def.pointable ~= false then
				return {name = name, pos = vec(hit.under), rel = rel_to(hit.under, eye), above = vec(hit.above),
					dist = vector.distance(eye, hit.intersection_point)}
			end
		end
	end
	return nil
end

local function liquid_at(pos)
	return minetest.get_item_group(minetest.get_node(pos).name, "water") > 0
end

function senses.collect(player)
	local t0 = minetest.get_us_time()
	calls = calls + 1
	local feet = player:get_pos()
	local props = player:get_properties()
	local eye = {x = feet.x, y = feet.y + (props.eye_height or 1.47), z = feet.z}
	local out = {eye = {eye.x, eye.y, eye.z}, feet = {feet.x, feet.y, feet.z}}
	for i, kind in ipairs(KINDS) do
		local cached = found[kind.key]
		if cached and not is_kind(minetest.get_node(cached.pos).name, kind) then
			cached, found[kind.key] = nil, nil
		end
		local since = calls - (last_search[kind.key] or -i)
		if (cached == nil and since >= RESEARCH_EVERY) or since >= SEARCH_EVERY then
			last_search[kind.key] = calls
			local near = nearest_nodes(eye, kind)
			local pos = near[1]
			if kind.key == "tree" then  -- the lowest trunk node of each column
				for j, p in ipairs(near) do
					near[j] = lowest_of_column(p, kind)
				end
				pos = near[1]
			end
			if pos and cached and vector.distance(eye, cached.pos) < vector.distance(eye, pos) + STICKY then
				pos = cached.pos  -- keep the target unless another is clearly nearer (no flip-flopping)
			end
			cached = pos and {pos = pos, name = minetest.get_node(pos).name} or nil
			found[kind.key] = cached
			near_found[kind.key] = near
		end
		if cached then
			out[kind.key] = {pos = {cached.pos.x, cached.pos.y, cached.pos.z}, rel = rel_to(cached.pos, eye),
				name = cached.name}
		end
		local near = {}
		for _, p in ipairs(near_found[kind.key] or {}) do
			near[#near + 1] = {pos = {p.x, p.y, p.z}, rel = rel_to(p, eye)}
		end
		if #near > 0 then
			out[kind.key .. "_near"] = near
		end
	end
	local pointed = pointed_node(player, eye)
	if pointed then
		out.pointed = {name = pointed.name, pos = {pointed.pos.x, pointed.pos.y, pointed.pos.z},
			rel = pointed.rel, above = {pointed.above.x, pointed.above.y, pointed.above.z}, dist = pointed.dist}
	end
	local foot_node = {x = math.floor(feet.x + 0.5), y = math.floor(feet.y + 0.5), z = math.floor(feet.z + 0.5)}
	out.in_water = liquid_at(foot_node) or liquid_at({x = foot_node.x, y = foot_node.y + 1, z = foot_node.z})
	for dy = 0, GROUND_DEPTH do
		local p = {x = foot_node.x, y = math.floor(feet.y + 0.5 - 0.01) - dy, z = foot_node.z}
		if is_walkable(minetest.get_node(p).name) then
			out.ground_y = p.y + 0.5
			out.height_above_ground = feet.y - out.ground_y
			break
		end
	end
	local vy = player:get_velocity().y
	out.vy = vy
	out.on_ground = out.height_above_ground ~= nil and out.height_above_ground < 0.3 and math.abs(vy) < 0.05
	out.headroom = HEADROOM
	for dy = 2, HEADROOM + 1 do
		if is_walkable(minetest.get_node({x = foot_node.x, y = foot_node.y + dy, z = foot_node.z}).name) then
			out.headroom = dy - 2
			break
		end
	end
	local yaw = player:get_look_horizontal()
	local ahead = {x = math.floor(feet.x - math.sin(yaw) * 0.8 + 0.5), y = foot_node.y,
		z = math.floor(feet.z + math.cos(yaw) * 0.8 + 0.5)}
	out.front = {foot = minetest.get_node(ahead).name,
		head = minetest.get_node({x = ahead.x, y = ahead.y + 1, z = ahead.z}).name,
		above_head = minetest.get_node({x = ahead.x, y = ahead.y + 2, z = ahead.z}).name,
		drop = MAX_DROP}
	for dy = 1, MAX_DROP do  -- how far one would fall stepping ahead (water breaks a fall)
		local name = minetest.get_node({x = ahead.x, y = ahead.y - dy, z = ahead.z}).name
		if is_walkable(name) or minetest.get_item_group(name, "water") > 0 then
			out.front.drop = dy - 1
			break
		end
	end
	out.wield = player:get_wielded_item():get_name()
	local hotbar = {}
	local list = player:get_inventory():get_list("main") or {}
	for i = 1, HOTBAR do
		hotbar[i] = list[i] and list[i]:get_name() or ""
	end
	out.hotbar = hotbar
	out.us = minetest.get_us_time() - t0
	return out
end

return senses
