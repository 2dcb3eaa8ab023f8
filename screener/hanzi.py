"""Chinese script forms: traditional ↔ simplified characters and full-width ↔ half-width forms.

Broker notes from Hong Kong and Taiwan write 建議關注 and 紫金礦業; notes pasted from PDFs mix
full-width and half-width punctuation. Every conversion here maps one character to one
character, so a converted text has the length of the original and offsets point into both.

The table pairs each simplified character with the one traditional form Hong Kong and Taiwan
financial text uses for it. Characters whose traditional form depends on the word (干 乾/幹,
台 臺/颱, 里 裡/里, 系 係/繫) are left out of the pairs: their traditional forms are only read
(``_READ_ONLY``), never written, so ``to_simplified(to_traditional(text)) == text`` always holds.

>>> to_simplified("建議關注紫金礦業")
'建议关注紫金矿业'
>>> half_width("（601899．SH）")
'(601899.SH)'
"""

from __future__ import annotations

import numpy as np

# Simplified then traditional, pair by pair ("万萬" maps 万 to 萬), grouped loosely by use.
_PAIRS = (
    # names of companies, places and metals
    "万萬丽麗云雲亚亞业業东東众眾伟偉体體兴興刚剛创創华華厦廈恒恆发發团團园園国國图圖宁寧宝寶"
    "实實导導岛島岭嶺悦悅晓曉机機桥橋泽澤济濟炼煉环環电電盐鹽矿礦纳納线線缆纜罗羅胜勝腾騰艺藝"
    "荣榮诚誠贵貴资資赣贛达達迁遷远遠钛鈦钢鋼钨鎢钰鈺钴鈷钼鉬钽鉭铂鉑铅鉛铜銅铝鋁银銀锂鋰锆鋯"
    "锋鋒锌鋅锐銳锗鍺锡錫镁鎂门門闽閩阳陽际際韵韻顺順领領驰馳鹏鵬鹭鷺黄黃齐齊龙龍镍鎳锑銻铌鈮"
    "铀鈾钒釩钯鈀镓鎵铟銦锰錳铁鐵铬鉻钙鈣钠鈉钾鉀铋鉍铸鑄钻鑽镀鍍轧軋灵靈湾灣广廣汉漢苏蘇陆陸"
    "陕陝辽遼粤粵琼瓊晋晉沪滬陇隴庐廬岚嵐卢盧鲁魯郑鄭邓鄧赵趙陈陳刘劉吴吳杨楊张張冯馮韦韋萧蕭"
    "乔喬尧堯鸿鴻凤鳳鹰鷹鱼魚马馬龟龜麦麥鸡雞鸟鳥"
    # words of recommendations, ratings and markets
    "议議关關标標荐薦点點属屬证證们們头頭为為与與个個产產链鏈类類价價涨漲报報题題应應对對于於"
    "从從这這将將续續继繼来來吨噸亿億须須险險级級买買卖賣评評调調权權维維优優势勢预預测測计計"
    "认認识識选選择擇观觀览覽视視规規则則组組织織经經营營销銷额額润潤亏虧损損减減扩擴项項库庫"
    "储儲态態动動变變区區县縣场場块塊压壓历歷围圍总總结結处處条條务務构構术術据據数數质質货貨"
    "贸貿购購费費财財责責账賬贷貸负負贡貢赔賠赚賺赛賽赞贊释釋运運输輸还還进進过過连連违違迟遲"
    "适適递遞逻邏遗遺边邊时時后後开開长長问問间間闻聞阶階队隊阴陰阵陣随隨隐隱难難页頁顶頂顾顧"
    "顿頓频頻颜顏风風飞飛馆館验驗骤驟"
    # everyday words
    "么麼义義乐樂书書乱亂争爭亲親仅僅仓倉伤傷伦倫传傳侧側侨僑债債倾傾偿償儿兒兑兌党黨兰蘭养養"
    "兽獸内內册冊写寫军軍农農冲衝决決况況冻凍净淨准準凉涼凑湊凭憑击擊删刪别別剂劑剧劇剑劍劝勸"
    "办辦励勵劲勁劳勞勋勳医醫协協单單卫衛却卻厂廠厅廳厉厲参參双雙叙敘叶葉号號叹嘆吓嚇吕呂吗嗎"
    "员員听聽启啟响響哗嘩唤喚圆圓圣聖坏壞坚堅坛壇坝壩坠墜垄壟垒壘执執扫掃扬揚扰擾抚撫抛拋抢搶"
    "护護担擔拟擬拢攏拥擁拦攔拨撥挂掛挡擋挤擠挥揮捞撈换換掷擲揽攬摄攝摆擺摇搖摊攤敌敵断斷无無"
    "旧舊旷曠显顯暂暫杀殺杂雜极極枪槍枣棗柜櫃栋棟栏欄树樹样樣档檔检檢楼樓欢歡欧歐残殘毁毀毕畢"
    "气氣汇匯汤湯沟溝没沒泪淚洁潔浅淺浑渾浓濃涂塗渐漸温溫湿濕满滿滤濾滞滯滨濱灭滅灯燈灾災炉爐"
    "烂爛热熱焕煥爱愛状狀独獨狭狹献獻猎獵现現玛瑪画畫畅暢疗療盖蓋盘盤监監码碼确確础礎硕碩礼禮"
    "祸禍离離种種积積称稱稳穩穷窮窃竊竞競笔筆笼籠筑築签簽简簡粮糧紧緊红紅约約纪紀纬緯纯純纲綱"
    "纵縱纷紛纸紙纹紋练練细細终終绕繞给給络絡绝絕统統绩績绳繩综綜绿綠缓緩编編缩縮罚罰罢罷网網"
    "职職联聯聪聰肃肅胁脅胶膠脑腦脚腳脱脫腊臘舰艦舱艙艰艱节節芦蘆苹蘋范範药藥获獲莱萊蓝藍虑慮"
    "虚虛补補装裝见見觉覺触觸订訂讨討让讓讯訊记記讲講许許论論设設访訪诉訴词詞译譯试試诗詩话話"
    "询詢该該详詳语語误誤说說请請诸諸读讀谈談谋謀谓謂谢謝谨謹谱譜贝貝败敗贩販贪貪贯貫贴貼贺賀"
    "赋賦赌賭赏賞赖賴赠贈赶趕趋趨跃躍践踐踪蹤轨軌转轉轮輪软軟轻輕载載较較辅輔辆輛辖轄针針钱錢"
    "铺鋪锁鎖锅鍋镇鎮闭閉闷悶阀閥阁閣雏雛饭飯饮飲驱驅两兩严嚴丰豐临臨举舉乌烏习習乡鄉仪儀伪偽"
    "侦偵俭儉俩倆剥剝卧臥呜嗚咏詠哑啞喷噴嘱囑墙牆壮壯声聲壳殼备備够夠夸誇夹夾夺奪奋奮奖獎妆妝"
    "妇婦娱娛婴嬰孙孫学學宠寵审審宪憲宫宮宽寬宾賓寝寢寻尋寿壽尔爾尘塵尝嘗层層屡屢岁歲岂豈岗崗"
    "峡峽币幣帅帥师師帐帳带帶帮幫庄莊庆慶庙廟废廢异異弃棄弥彌弯彎归歸当當录錄彻徹径徑怀懷忆憶"
    "忧憂怜憐恋戀恶惡恳懇恼惱悬懸惊驚惧懼惨慘惩懲愤憤战戰户戶扑撲敛斂斋齋晕暈枢樞梦夢椭橢槟檳"
    "殴毆毙斃浆漿浇澆浊濁涛濤涡渦涩澀渔漁溃潰滚滾滩灘潜潛澜瀾灿燦烁爍烟煙烦煩烧燒烫燙爷爺牵牽"
    "犹猶狮獅猪豬猫貓琐瑣疯瘋痒癢瘫癱皱皺盏盞睁睜矫矯砖磚碱鹼秃禿窍竅窝窩竖豎笋筍笺箋筹籌粪糞"
    "纠糾纤纖纱紗纺紡纽紐绅紳绍紹绑綁绘繪绢絹绣繡绪緒绰綽绵綿绽綻缀綴缉緝缔締缘緣缚縛缝縫缠纏"
    "缴繳肠腸肤膚肾腎肿腫胀脹胆膽脉脈舆輿艳艷芜蕪苍蒼茧繭荆荊荡蕩莲蓮莹瑩萝蘿萨薩蔷薔虏虜虫蟲"
    "虽雖虾蝦蚀蝕蚁蟻蛮蠻衬襯袄襖袜襪裤褲觅覓誉譽讥譏训訓讳諱讼訟诈詐诊診诞誕诡詭诫誡诱誘诺諾"
    "课課谁誰谅諒谊誼谍諜谎謊谐諧谜謎谣謠谦謙谬謬贞貞贤賢贫貧贱賤贼賊赎贖赐賜踊踴跷蹺车車轩軒"
    "轰轟辈輩辉輝辞辭迈邁逊遜遥遙邮郵邻鄰酝醞酿釀鉴鑑钉釘钞鈔钟鐘钥鑰钦欽钧鈞钩鉤钮鈕铃鈴铭銘"
    "铲鏟锈鏽错錯锚錨锤錘锦錦键鍵锻鍛镜鏡镶鑲闪閃闯闖闲閒闸閘闹鬧阅閱阐闡阔闊隶隸雾霧颁頒颂頌"
    "颇頗颗顆颠顛飘飄饥飢饰飾饱飽饲飼饼餅驳駁驶駛驻駐驾駕骂罵骑騎骗騙鲜鮮鸣鳴鹅鵝齿齒龄齡几幾"
    "划劃并並尽盡采採蜡蠟淀澱余餘"
)
# Traditional forms that are read but never written: word-dependent variants, and the other
# standard forms of characters the pairs write the Hong Kong/Taiwan way (衆 beside 眾).
_READ_ONLY = dict(
    zip(
        "裡裏複復髮製穀鬥鬱幹颱臺籤罈彙併穫鍾週佈徵鬚衆爲啓溼僞説綫衞鷄敍",
        "里里复复发制谷斗郁干台台签坛汇并获钟周布征须众为启湿伪说线卫鸡叙",
        strict=True,
    )
)


_S2T = dict(zip(_PAIRS[::2], _PAIRS[1::2], strict=True))
_HALF = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\u3000": " "}
_BMP = 0x10000


def _table(mapping: dict[str, str]) -> np.ndarray:
    """A code-point lookup table for the Basic Multilingual Plane: identity but ``mapping``."""
    table = np.arange(_BMP, dtype=np.uint32)
    for a, b in mapping.items():
        table[ord(a)] = ord(b)
    return table


_TO_TRADITIONAL = _table(_S2T)
_TO_SIMPLIFIED = _table({t: s for s, t in _S2T.items()} | _READ_ONLY)
_TO_HALF = _table(_HALF)
_TO_PLAIN = _TO_SIMPLIFIED[_TO_HALF]  # half-width, then simplified


def _apply(table: np.ndarray, text: str) -> str:
    """``text`` with every character looked up in ``table``: one character for one, so the
    length is kept. A lookup table in numpy, since ``str.translate`` takes ~0.1 µs a
    character and notes run to thousands of characters."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    inside = codes < _BMP
    out = np.where(inside, table[np.where(inside, codes, 0)], codes)
    return out.astype(np.uint32).tobytes().decode("utf-32-le")


def to_simplified(text: str) -> str:
    """Simplified form of ``text``: 紫金礦業 → 紫金矿业; other characters unchanged."""
    return _apply(_TO_SIMPLIFIED, text)


def to_traditional(text: str) -> str:
    """Traditional form of ``text`` (the inverse of ``to_simplified`` on simplified text)."""
    return _apply(_TO_TRADITIONAL, text)


def half_width(text: str) -> str:
    """Full-width letters, digits, punctuation and the ideographic space → half-width."""
    return _apply(_TO_HALF, text)


def plain(text: str) -> str:
    """Half-width and simplified at once (the form notes are read in)."""
    return _apply(_TO_PLAIN, text)
